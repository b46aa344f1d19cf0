"""kopf handlers: events in, renders applied, status and events out. No decisions live here
that ``render`` or ``progress`` could make.

- create / resume: validate, render, create-or-adopt each child (idempotent: a restarted
  operator adopts what exists and duplicates nothing);
- update of ``spec``: the same, then refresh the mounted experiment file and follow
  ``spec.suspend`` (a spec fixed after a rejection gets its children now);
- RayJob events: the experiment's phase and conditions follow the RayJob's status (this
  handler is their only writer), with a Kubernetes event on each phase transition;
- delete: remove the children (owner references would too; this does it now), and never keep
  the finalizer once its few retries are spent, so a deleted experiment cannot wedge.
"""

from __future__ import annotations

import asyncio
import datetime
import os
from typing import Any

import kopf
from kubernetes.dynamic.exceptions import ResourceNotFoundError
from s3gan_operator import metrics
from s3gan_operator.kube import ForeignOwnerError, Kube
from s3gan_operator.progress import status_for_rejected_spec, status_from_ray_job
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
               ("rbac.authorization.k8s.io/v1", "RoleBinding"), ("ray.io/v1", "RayJob"),
               (API_VERSION, KIND))


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
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    try:
        memo.settings = OperatorSettings.from_env(os.environ)
        memo.kube = await Kube.connect(CHILD_KINDS)
    except (SettingsError, ResourceNotFoundError) as e:
        raise kopf.PermanentError(str(e)) from None  # stop the operator: retrying cannot help
    memo.phases = {}
    memo.exporter = metrics.operator_exporter()
    memo.exporter.start(memo.settings.metrics_port, addr="0.0.0.0")  # scraped from other pods


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


def _reject(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, error: Exception) -> None:
    problems = str(error)
    patch.status.update(status_for_rejected_spec(problems, dict(body.status), _now()))
    patch.status["observedGeneration"] = body.metadata.get("generation")
    kopf.warn(body, reason="SpecRejected", message=problems)
    _record_phase(memo, body.metadata.uid, "Failed")


async def _apply(body: kopf.Body, memo: kopf.Memo, wanted: dict[str, Any]) -> dict[str, Any]:
    try:
        live, created = await memo.kube.create_or_adopt(wanted)
    except ForeignOwnerError as e:
        kopf.warn(body, reason="NameTaken", message=str(e))
        raise kopf.PermanentError(str(e)) from None
    if created:
        kopf.info(body, reason="Created", message=f"{wanted['kind']} {wanted['metadata']['name']}")
    return live


async def _reconcile(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo) -> Children | None:
    """Create what is missing, adopt what exists; None when the spec was rejected."""
    try:
        children = _children(body, memo)
    except (SpecError, RenderError) as e:
        _reject(body, patch, memo, e)
        return None
    await asyncio.gather(*(_apply(body, memo, child) for child in children.dependencies()))
    live = await _apply(body, memo, children.ray_job)
    status = {"rayJobName": live["metadata"]["name"],
              "observedGeneration": body.metadata.get("generation")}
    previous = dict(body.status)
    # The phase and conditions have one writer, the RayJob event handler, which sees the
    # RayJob's creation (or, after a restart, its listing) next; writing them here could race
    # it. The exception: a spec fixed after a rejection, whose RayJob may have nothing new.
    if any(c.get("type") == "Valid" and c.get("status") == "False"
           for c in previous.get("conditions", [])):
        status.update(status_from_ray_job(live, previous, _now()))
    patch.status.update(status)
    return children


@kopf.on.create(*EXPERIMENTS)
async def create(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    with metrics.observe(memo.exporter, "create"):
        await _reconcile(body, patch, memo)


@kopf.on.resume(*EXPERIMENTS)
async def resume(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    with metrics.observe(memo.exporter, "resume"):
        if body.metadata.get("deletionTimestamp"):
            return  # the delete handler finishes it
        await _reconcile(body, patch, memo)


@kopf.on.update(*EXPERIMENTS, field="spec")
async def update(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, old: Any, new: Any,
                 **_: Any) -> None:
    with metrics.observe(memo.exporter, "update"):
        children = await _reconcile(body, patch, memo)
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


@kopf.on.delete(*EXPERIMENTS, retries=3, backoff=2, timeout=60)
async def delete(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    with metrics.observe(memo.exporter, "delete"):
        _record_phase(memo, body.metadata.uid, None)
        try:
            children = _children(body, memo)
        except (SpecError, RenderError):
            return  # nothing was created for a spec that never rendered
        for child in reversed(children.in_creation_order()):
            meta = child["metadata"]
            await memo.kube.delete(child["apiVersion"], child["kind"], meta["name"],
                                   meta["namespace"])


@kopf.on.event(*RAYJOBS, labels=MANAGED_BY)
async def ray_job_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo,
                        **_: Any) -> None:
    if event["type"] == "DELETED":
        return
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

