"""kopf handlers: events in, renders applied, status and events out. No decisions live here
that ``render`` or ``progress`` could make.

- create / resume: validate, check what the experiment borrows (image, ServiceAccount,
  Secret), render, create each child or take the one it already controls (idempotent: a
  restarted operator duplicates nothing); a finished experiment is left as it is on resume;
- update of ``spec``: the same, then refresh the mounted experiment file and follow
  ``spec.suspend`` (a spec fixed after a rejection gets its children now);
- RayJob events: the experiment's phase and conditions follow the RayJob's status (this
  handler is their only writer), with a Kubernetes event on each phase transition; a RayJob
  deleted by hand while its experiment is unfinished is created again;
- delete: nothing to undo. Children carry owner references, so garbage collection removes
  them, and the experiment holds no finalizer: deleting it never waits on the operator.

A child the API server refuses (quota, admission) fails the experiment with the server's reason
and an event, and is retried with exponential backoff.
"""

from __future__ import annotations

import asyncio
import datetime
import os
from typing import Any

import kopf
from kubernetes.dynamic.exceptions import ResourceNotFoundError
from s3gan_operator import metrics
from s3gan_operator.kube import ChildError, ForeignOwnerError, Kube
from s3gan_operator.progress import (
    failed_by_operator,
    status_for_rejected_spec,
    status_from_ray_job,
)
from s3gan_operator.render import (
    MANAGED_BY,
    QUEUE_LABEL,
    Children,
    Owner,
    RenderError,
    render,
)
from s3gan_operator.settings import OperatorSettings, SettingsError

from s3gan.spec import API_VERSION, GROUP, KIND, PLURAL, VERSION, SpecError, parse_experiment

EXPERIMENTS = (GROUP, VERSION, PLURAL)
RAYJOBS = ("ray.io", "v1", "rayjobs")
CHILD_KINDS = (("v1", "ConfigMap"), ("v1", "ServiceAccount"),
               ("rbac.authorization.k8s.io/v1", "Role"),
               ("rbac.authorization.k8s.io/v1", "RoleBinding"),
               ("networking.k8s.io/v1", "NetworkPolicy"), ("ray.io/v1", "RayJob"),
               (API_VERSION, KIND), ("authorization.k8s.io/v1", "SelfSubjectAccessReview"))
FINISHED = ("Succeeded", "Failed")
BACKOFF_SECONDS, BACKOFF_LIMIT_SECONDS = 5, 300
# What a namespace admin grants the operator to let experiments use an object (docs/operator.md).
USE = ("use", GROUP)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """In a pod its ServiceAccount, else $KUBECONFIG (read now), else the client's defaults."""
    return (kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)
            or kopf.login_via_client(**kwargs))


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    # Handler progress lives in annotations: the CRD's status schema has no room for kopf's.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration")
    settings.persistence.finalizer = f"{GROUP}/finalizer"  # only removed from older objects
    # Serve exactly the namespaces given (or all): scanning would list every namespace and every
    # CRD cluster-wide, which a namespaced operator may not, and its resources are checked below.
    settings.scanning.disabled = True
    try:
        memo.settings = OperatorSettings.from_env(os.environ)
        memo.kube = await Kube.connect(CHILD_KINDS)
    except (SettingsError, ResourceNotFoundError) as e:
        raise kopf.PermanentError(str(e)) from None  # stop the operator: retrying cannot help
    memo.phases = {}
    memo.exporter = metrics.operator_exporter()
    memo.exporter.start(memo.settings.metrics_port, addr=memo.settings.metrics_address)


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    memo.exporter.stop()


def _record_phase(memo: kopf.Memo, uid: str, phase: str | None) -> None:
    if phase is None:
        memo.phases.pop(uid, None)
    else:
        memo.phases[uid] = phase
    metrics.count_phases(memo.exporter, memo.phases)


def _children(body: kopf.Body, memo: kopf.Memo) -> Children:
    """Parse and render; SpecError or RenderError name every problem of a bad spec."""
    document = {k: body[k] for k in ("apiVersion", "kind", "metadata", "spec")}
    experiment = parse_experiment(document, f"{body['kind']} {body['metadata']['name']}")
    owner = Owner(body["metadata"]["name"], body["metadata"]["namespace"], body["metadata"]["uid"])
    return render(owner, experiment.spec, memo.settings)


def _fail(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, reason: str, problems: str,
          valid: bool = False) -> None:
    previous = dict(body.status)
    patch.status.update(status_for_rejected_spec(problems, previous, _now(), reason, valid))
    patch.status["observedGeneration"] = body.metadata.get("generation")
    kopf.warn(body, reason=reason, message=problems)
    _record_phase(memo, body.metadata.uid, "Failed")


async def _borrowing_problems(body: kopf.Body, memo: kopf.Memo, children: Children) -> list[str]:
    """The ServiceAccount and Secret the spec names, unless the namespace allowed them."""
    credentials = body["spec"].get("storage", {}).get("credentials", {})
    namespace = body["metadata"]["namespace"]
    asked = [("spec.storage.credentials.serviceAccount", "serviceaccounts", "ServiceAccount",
              credentials.get("serviceAccount")),
             ("spec.storage.credentials.secretName", "secrets", "Secret",
              credentials.get("secretName"))]
    asked = [a for a in asked if a[3]]
    allowed = await asyncio.gather(*(memo.kube.may(*USE, resource, name, namespace)
                                     for _, resource, _, name in asked))
    return [f"{field}: {kind} {name!r} is not allowed for s3gan experiments in namespace "
            f"{namespace}; a namespace admin allows it by granting the operator the verb "
            f"'use' on {resource}.{GROUP} with resourceNames [{name}] (docs/operator.md)"
            for (field, resource, kind, name), ok in zip(asked, allowed, strict=True) if not ok]


async def _apply(body: kopf.Body, memo: kopf.Memo, wanted: dict[str, Any]) -> dict[str, Any]:
    live, created = await memo.kube.create_or_take(wanted)
    if created:
        kopf.info(body, reason="Created", message=f"{wanted['kind']} {wanted['metadata']['name']}")
    return live


async def _create_children(body: kopf.Body, memo: kopf.Memo,
                           children: Children) -> dict[str, Any]:
    """Each wave together, in RBAC's order; the live RayJob."""
    for wave in children.waves():
        live = await asyncio.gather(*(_apply(body, memo, child) for child in wave))
    return live[-1]


async def _reconcile(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo,
                     retry: int = 0) -> Children | None:
    """Create what is missing, take what exists; None when the experiment was refused."""
    try:
        children = _children(body, memo)
    except (SpecError, RenderError) as e:
        _fail(body, patch, memo, "SpecRejected", str(e))
        return None
    problems = await _borrowing_problems(body, memo, children)
    if problems:
        _fail(body, patch, memo, "NotAllowed", "\n".join(problems))
        return None
    try:
        live = await _create_children(body, memo, children)
    except ForeignOwnerError as e:
        _fail(body, patch, memo, "NameTaken", str(e))
        return None
    except ChildError as e:
        _fail(body, patch, memo, "ChildRefused", str(e), valid=True)
        delay = min(BACKOFF_LIMIT_SECONDS, BACKOFF_SECONDS * 2 ** retry)
        raise kopf.TemporaryError(str(e), delay=delay) from None
    status = {"rayJobName": live["metadata"]["name"],
              "observedGeneration": body.metadata.get("generation")}
    previous = dict(body.status)
    # The phase and conditions have one writer, the RayJob event handler, which sees the
    # RayJob's creation (or, after a restart, its listing) next; writing them here could race
    # it. The exception: an experiment the operator itself failed (a rejected spec, a refused
    # child), whose RayJob may have nothing new to report.
    if failed_by_operator(previous):
        status.update(status_from_ray_job(live, previous, _now()))
    patch.status.update(status)
    return children


@kopf.on.create(*EXPERIMENTS)
async def create(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, retry: int,
                 **_: Any) -> None:
    with metrics.observe(memo.exporter, "create"):
        await _reconcile(body, patch, memo, retry)


@kopf.on.resume(*EXPERIMENTS)
async def resume(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, retry: int,
                 **_: Any) -> None:
    with metrics.observe(memo.exporter, "resume"):
        if body.metadata.get("deletionTimestamp"):
            return
        if body.status.get("phase") in FINISHED and not failed_by_operator(dict(body.status)):
            _record_phase(memo, body.metadata.uid, body.status["phase"])
            return  # finished: its RayJob may be gone (TTL); nothing is started again
        await _reconcile(body, patch, memo, retry)


@kopf.on.update(*EXPERIMENTS, field="spec")
async def update(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, old: Any, new: Any,
                 retry: int, **_: Any) -> None:
    with metrics.observe(memo.exporter, "update"):
        children = await _reconcile(body, patch, memo, retry)
        if children is None:
            return
        config_map, job = children.config_map, children.ray_job
        await memo.kube.patch("v1", "ConfigMap", config_map["metadata"]["name"],
                              config_map["metadata"]["namespace"], {"data": config_map["data"]})
        suspend = bool((new or {}).get("suspend"))
        queued = QUEUE_LABEL in job["metadata"]["labels"]  # Kueue owns suspend then
        if suspend != bool((old or {}).get("suspend")) and not queued:
            await memo.kube.patch("ray.io/v1", "RayJob", job["metadata"]["name"],
                                  job["metadata"]["namespace"], {"spec": {"suspend": suspend}})
            kopf.info(body, reason="Suspended" if suspend else "Resumed",
                      message=f"RayJob {job['metadata']['name']}")
        kopf.info(body, reason="Updated", message="experiment file refreshed")


@kopf.on.delete(*EXPERIMENTS, optional=True)  # optional: no finalizer, deletion never waits
async def delete(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    with metrics.observe(memo.exporter, "delete"):
        _record_phase(memo, body.metadata.uid, None)


@kopf.on.event(*RAYJOBS, labels=MANAGED_BY)
async def ray_job_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo,
                        **_: Any) -> None:
    with metrics.observe(memo.exporter, "rayjob"):
        # Trust the controller reference, not the label: anyone may label a RayJob.
        owner = next((r for r in body.metadata.get("ownerReferences") or []
                      if r.get("controller") and r.get("apiVersion") == API_VERSION
                      and r.get("kind") == KIND), None)
        if owner is None:
            return
        name, namespace = owner["name"], body.metadata.namespace
        experiment = await memo.kube.get(API_VERSION, KIND, name, namespace)
        if (not experiment or experiment["metadata"].get("uid") != owner.get("uid")
                or experiment["metadata"].get("deletionTimestamp")):
            return
        previous = experiment.get("status") or {}
        if event["type"] == "DELETED":
            await _recreate(experiment, memo, previous)
            return
        status = status_from_ray_job(dict(body), previous, _now())
        _record_phase(memo, experiment["metadata"]["uid"], status["phase"])  # also after restarts
        if all(previous.get(k) == v for k, v in status.items()):
            return
        await memo.kube.patch(API_VERSION, KIND, name, namespace, {"status": status},
                              status=True)
        if previous.get("phase") != status["phase"]:
            kind = "Warning" if status["phase"] == "Failed" else "Normal"
            kopf.event(experiment, type=kind, reason=status["phase"],
                       message=status["message"] or f"RayJob {body.metadata.name}")



async def _recreate(experiment: dict[str, Any], memo: kopf.Memo, previous: dict[str, Any]) -> None:
    """A RayJob deleted by hand while its experiment runs: create it again (the pipeline resumes
    from storage). A finished experiment keeps its phase and gets no new job."""
    if previous.get("phase") in FINISHED and not failed_by_operator(previous):
        return
    try:
        children = _children(experiment, memo)
    except (SpecError, RenderError):
        return
    live, created = await memo.kube.create_or_take(children.ray_job)
    if created:
        kopf.event(experiment, type="Warning", reason="Recreated",
                   message=f"RayJob {live['metadata']['name']} was deleted; created it again")
