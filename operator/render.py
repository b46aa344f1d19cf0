"""Pure rendering: one S3GANExperiment → the Kubernetes objects that run it.

The experiment reaches the job as data: a ConfigMap holding the whole document, mounted
read-only at ``/etc/s3gan/experiment.yaml`` in every Ray pod. The RayJob's entrypoint is a
fixed argument list, so no text of the custom resource is ever read by a shell. Storage keys
come from a Secret the spec names (``secretKeyRef``) or from the pods' ServiceAccount (GKE
Workload Identity, EKS IRSA); they never appear in any object rendered here.

The Ray containers carry no ``command`` or ``args``: KubeRay runs ``ray start --block`` as the
last command of its ``bash -lc`` line, which bash replaces itself with, so a pod's SIGTERM
reaches ``ray start``. That process then drains its node for
``RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S`` (set here from the operator's grace period), in which
the train stage saves a checkpoint; the pods' ``terminationGracePeriodSeconds`` outlasts the
drain and Ray's teardown.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass
from typing import Any

import yaml
from s3gan_operator.accelerators import PlacementError, worker_placement
from s3gan_operator.settings import OperatorSettings

from s3gan.spec import API_VERSION, GROUP, KIND, PLURAL, ExperimentSpec

EXPERIMENT_DIR = "/etc/s3gan"
EXPERIMENT_FILE = "experiment.yaml"
ENTRYPOINT = shlex.join(["python", "-m", "s3gan_workers.pipeline",
                         "--experiment", f"{EXPERIMENT_DIR}/{EXPERIMENT_FILE}"])
EXPERIMENT_LABEL = f"{GROUP}/experiment"
MANAGED_BY = {"app.kubernetes.io/managed-by": "s3gan-operator"}
# The chart's PodMonitor selects Ray pods by this label and scrapes the port of this name,
# where the pipeline's rank-0 process serves the metric catalogue (s3gan_workers reads the env).
POD_LABELS = {"app.kubernetes.io/part-of": "s3gan"}
METRICS_PORT_NAME = "s3gan-metrics"
METRICS_PORT = 9100
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
# KubeRay names the RayCluster "<rayjob>-<5 chars>" and its head Service "<cluster>-head-svc",
# which must stay a 63-character DNS label.
RAYJOB_NAME_LIMIT = 47
# The head runs the pipeline's driver and Ray's control plane only (num-cpus 0 keeps training
# tasks off it), so it is sized modestly whatever the workers need.
HEAD_RESOURCES = {"cpu": "2", "memory": "8Gi"}
# PodSecurity "restricted": the Ray image's user (ray, uid 1000, group users 100), no privilege
# escalation, no capabilities, the runtime's default seccomp profile.
POD_SECURITY = {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 100, "fsGroup": 100,
                "seccompProfile": {"type": "RuntimeDefault"}}
CONTAINER_SECURITY = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
_IMAGE = re.compile(
    r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$")


class RenderError(ValueError):
    """The experiment cannot be turned into Kubernetes objects; the message names the field."""


@dataclass(frozen=True)
class Owner:
    """The S3GANExperiment every rendered object belongs to."""

    name: str
    namespace: str
    uid: str


@dataclass(frozen=True)
class Children:
    config_map: dict[str, Any]
    service_account: dict[str, Any] | None  # None when the spec names a pod identity
    role: dict[str, Any]
    role_binding: dict[str, Any]
    network_policy: dict[str, Any] | None  # None when the operator's settings turn it off
    ray_job: dict[str, Any]

    def waves(self) -> list[list[dict[str, Any]]]:
        """Creation order, each wave created together. RBAC refuses a RoleBinding to a Role that
        does not exist yet (unless the binder may ``bind``, which the operator may not), so the
        Role comes a wave before its binding; the RayJob comes last, once its pods' ConfigMap,
        identity and network fence exist."""
        first = [self.config_map, self.service_account, self.role]
        second = [self.role_binding, self.network_policy]
        return [[o for o in first if o is not None], [o for o in second if o is not None],
                [self.ray_job]]


def ray_job_name(experiment: str) -> str:
    if len(experiment) <= RAYJOB_NAME_LIMIT:
        return experiment
    digest = hashlib.sha256(experiment.encode()).hexdigest()[:6]
    return f"{experiment[:RAYJOB_NAME_LIMIT - 7].rstrip('-')}-{digest}"


def config_map_name(experiment: str) -> str:
    return f"{experiment}-experiment"


def reporter_name(experiment: str) -> str:
    return f"{experiment}-reporter"


def _metadata(owner: Owner, name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": owner.namespace,
        "labels": {**MANAGED_BY, "app.kubernetes.io/name": "s3gan",
                   EXPERIMENT_LABEL: owner.name, **(labels or {})},
        "ownerReferences": [{
            "apiVersion": API_VERSION, "kind": KIND, "name": owner.name, "uid": owner.uid,
            "controller": True, "blockOwnerDeletion": True,
        }],
    }


def experiment_document(owner: Owner, spec: ExperimentSpec) -> str:
    """The file the pipeline reads: the experiment as ``s3gan run`` would take it."""
    return yaml.safe_dump({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": owner.name, "namespace": owner.namespace},
        "spec": spec.model_dump(by_alias=True, exclude_none=True, mode="json"),
    }, sort_keys=False)


def render_config_map(owner: Owner, spec: ExperimentSpec) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": _metadata(owner, config_map_name(owner.name)),
            "data": {EXPERIMENT_FILE: experiment_document(owner, spec)}}


def render_reporter_rbac(owner: Owner, spec: ExperimentSpec) -> tuple[dict | None, dict, dict]:
    """The identity the job's rank 0 patches ``status`` with: this one experiment, nothing else."""
    name = reporter_name(owner.name)
    identity = spec.storage.credentials.service_account
    account = None if identity else {"apiVersion": "v1", "kind": "ServiceAccount",
                                     "metadata": _metadata(owner, name)}
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": _metadata(owner, name),
        "rules": [{"apiGroups": [GROUP], "resources": [f"{PLURAL}/status"],
                   "resourceNames": [owner.name], "verbs": ["get", "patch"]}],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": _metadata(owner, name),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": identity or name,
                      "namespace": owner.namespace}],
    }
    return account, role, binding


def _environment(owner: Owner, spec: ExperimentSpec,
                 settings: OperatorSettings) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "S3GAN_EXPERIMENT_NAME", "value": owner.name},
        {"name": "S3GAN_EXPERIMENT_NAMESPACE",
         "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "S3GAN_METRICS_ADDRESS", "value": "0.0.0.0"},
        {"name": "S3GAN_METRICS_PORT", "value": str(METRICS_PORT)},
        {"name": "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S", "value": str(settings.ray_drain_seconds)},
    ]
    secret = spec.storage.credentials.secret_name
    if secret:
        env += [{"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
                for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")]
    return env


def _pod_template(owner: Owner, spec: ExperimentSpec, settings: OperatorSettings, image: str,
                  container: str, resources: dict[str, Any],
                  placement: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = {
        "serviceAccountName": spec.storage.credentials.service_account
        or reporter_name(owner.name),
        "terminationGracePeriodSeconds": settings.termination_grace_seconds,
        "securityContext": POD_SECURITY,
        "containers": [{
            "name": container,
            "image": image,
            "securityContext": CONTAINER_SECURITY,
            "env": _environment(owner, spec, settings),
            "ports": [{"name": METRICS_PORT_NAME, "containerPort": METRICS_PORT,
                       "protocol": "TCP"}],
            "resources": resources,
            "volumeMounts": [{"name": "experiment", "mountPath": EXPERIMENT_DIR,
                              "readOnly": True}],
        }],
        "volumes": [{"name": "experiment",
                     "configMap": {"name": config_map_name(owner.name)}}],
        **placement,
    }
    return {"metadata": {"labels": {EXPERIMENT_LABEL: owner.name, **POD_LABELS}}, "spec": pod}


def _image(spec: ExperimentSpec, settings: OperatorSettings) -> str:
    image = spec.cluster.image or settings.ray_image
    if not _IMAGE.match(image):
        raise RenderError(f"spec.cluster.image: {image!r} is not an image reference")
    if spec.cluster.image and not settings.image_allowed(image):
        allowed = ", ".join(settings.allowed_images) or settings.ray_image.split(":")[0]
        raise RenderError(
            f"spec.cluster.image: {image!r} is not among the images this cluster allows "
            f"({allowed}); the platform admin adds repositories with the chart's "
            "ray.allowedImages")
    return image


def render_network_policy(owner: Owner, settings: OperatorSettings) -> dict[str, Any] | None:
    """Ingress to the experiment's Ray pods only from its own Ray pods, the operator's namespace
    and, on the metrics port, the monitoring namespace; egress stays open (storage, DNS)."""
    if not settings.network_policy:
        return None
    own = {"podSelector": {"matchLabels": {EXPERIMENT_LABEL: owner.name}}}
    rules: list[dict[str, Any]] = [{"from": [own]}]
    if settings.operator_namespace:
        rules.append({"from": [{
            "namespaceSelector": {"matchLabels": {
                "kubernetes.io/metadata.name": settings.operator_namespace}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/component": "operator"}}}]})
    if settings.monitoring_namespace:
        rules.append({"from": [{"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": settings.monitoring_namespace}}}],
            "ports": [{"protocol": "TCP", "port": METRICS_PORT}]})
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": _metadata(owner, f"{owner.name}-ray"),
            "spec": {"podSelector": own["podSelector"], "policyTypes": ["Ingress"],
                     "ingress": rules}}


def render_ray_job(owner: Owner, spec: ExperimentSpec,
                   settings: OperatorSettings) -> dict[str, Any]:
    try:
        workers = worker_placement(spec.resources)
    except PlacementError as e:
        raise RenderError(str(e)) from None
    image = _image(spec, settings)
    placement = {k: v for k, v in (("nodeSelector", workers.node_selector),
                                   ("tolerations", workers.tolerations)) if v}
    head = {
        "serviceType": "ClusterIP",  # the dashboard stays inside the cluster
        "rayStartParams": {"num-cpus": "0"},
        "template": _pod_template(owner, spec, settings, image, "ray-head",
                                  {"requests": HEAD_RESOURCES, "limits": HEAD_RESOURCES}, {}),
    }
    group = {
        "groupName": "workers",
        "replicas": workers.replicas,
        "minReplicas": workers.replicas,
        "maxReplicas": workers.replicas,
        "numOfHosts": workers.hosts_per_replica,
        "rayStartParams": {},
        "template": _pod_template(owner, spec, settings, image, "ray-worker",
                                  {"requests": workers.requests, "limits": workers.limits},
                                  placement),
    }
    cluster: dict[str, Any] = {
        "rayVersion": settings.ray_version,
        "enableInTreeAutoscaling": False,
        "headGroupSpec": head,
        "workerGroupSpecs": [group],
    }
    if settings.ray_auth == "token":
        cluster["authOptions"] = {"mode": "token"}
    if settings.ray_network_policy != "off":
        cluster["networkPolicy"] = {"mode": settings.ray_network_policy}
    queue = spec.cluster.queue_name
    job: dict[str, Any] = {
        "entrypoint": ENTRYPOINT,
        "shutdownAfterJobFinishes": True,
        "ttlSecondsAfterFinished": spec.cluster.ttl_seconds_after_finished,
        "backoffLimit": spec.cluster.backoff_limit,
        # Kueue admits a workload by unsuspending it, so queued jobs start suspended.
        "suspend": spec.suspend or queue is not None,
        "rayClusterSpec": cluster,
    }
    if spec.cluster.active_deadline_seconds is not None:
        job["activeDeadlineSeconds"] = spec.cluster.active_deadline_seconds
    labels = {QUEUE_LABEL: queue} if queue else {}
    return {"apiVersion": "ray.io/v1", "kind": "RayJob",
            "metadata": _metadata(owner, ray_job_name(owner.name), labels), "spec": job}


def render(owner: Owner, spec: ExperimentSpec, settings: OperatorSettings) -> Children:
    account, role, binding = render_reporter_rbac(owner, spec)
    return Children(render_config_map(owner, spec), account, role, binding,
                    render_network_policy(owner, settings), render_ray_job(owner, spec, settings))
