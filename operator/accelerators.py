"""Where Ray workers run: the worker group's size and its pods' placement per accelerator.

- GKE TPU slices: one Ray worker pod per TPU host. A slice of topology ``AxBxC`` has A·B·C
  chips; with ``perWorker`` chips per host it spans A·B·C ÷ perWorker hosts, which KubeRay
  schedules together as one replica of ``numOfHosts`` pods. ``resources.workers`` counts
  hosts, so the replicas are the slices: workers ÷ hosts per slice.
- NVIDIA GPUs: one pod per worker with ``perWorker`` GPUs, on GKE accelerator node pools.
- CPU: one pod per worker.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from s3gan.spec.model import Resources

TPU_RESOURCE = "google.com/tpu"
GPU_RESOURCE = "nvidia.com/gpu"
# Kubernetes label values: what a node selector may compare against.
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


class PlacementError(ValueError):
    """``spec.resources`` describes workers that cannot be placed; names the field."""


@dataclass(frozen=True)
class WorkerPlacement:
    replicas: int
    hosts_per_replica: int
    requests: dict[str, str]
    limits: dict[str, str]
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)


def _label_value(value: str, path: str) -> str:
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise PlacementError(f"{path}: {value!r} is not a valid node label value")
    return value


def _tolerate(resource: str) -> list[dict[str, Any]]:
    return [{"key": resource, "operator": "Exists", "effect": "NoSchedule"}]


def tpu_hosts_per_slice(resources: Resources) -> int:
    accelerator = resources.accelerator
    chips = math.prod(int(n) for n in (accelerator.topology or "").split("x"))
    if chips % accelerator.per_worker:
        raise PlacementError(
            f"spec.resources.accelerator.perWorker: {accelerator.per_worker} chips per host "
            f"do not divide the {chips} chips of topology {accelerator.topology}")
    return chips // accelerator.per_worker


def worker_placement(resources: Resources) -> WorkerPlacement:
    accelerator = resources.accelerator
    base = {"cpu": f"{resources.cpus_per_worker:g}", "memory": resources.memory_per_worker}
    if accelerator.kind == "cpu":
        return WorkerPlacement(resources.workers, 1, base, {"memory": base["memory"]})
    if accelerator.kind == "gpu":
        gpus = {GPU_RESOURCE: str(accelerator.per_worker)}
        selector = {"cloud.google.com/gke-accelerator":
                    _label_value(accelerator.type or "", "spec.resources.accelerator.type")}
        return WorkerPlacement(resources.workers, 1, {**base, **gpus},
                               {"memory": base["memory"], **gpus}, selector,
                               _tolerate(GPU_RESOURCE))
    hosts = tpu_hosts_per_slice(resources)
    if resources.workers % hosts:
        raise PlacementError(
            f"spec.resources.workers: {resources.workers} hosts is not a whole number of "
            f"{accelerator.topology} slices ({hosts} hosts each)")
    tpus = {TPU_RESOURCE: str(accelerator.per_worker)}
    selector = {
        "cloud.google.com/gke-tpu-accelerator":
            _label_value(accelerator.type or "", "spec.resources.accelerator.type"),
        "cloud.google.com/gke-tpu-topology":
            _label_value(accelerator.topology or "", "spec.resources.accelerator.topology"),
    }
    return WorkerPlacement(resources.workers // hosts, hosts, {**base, **tpus},
                           {"memory": base["memory"], **tpus}, selector,
                           _tolerate(TPU_RESOURCE))
