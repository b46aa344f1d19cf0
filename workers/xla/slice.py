"""The Ray Train worker group for one TPU slice: one worker per TPU host, each holding all of its
host's chips, the hosts of one slice reserved together.

The operator places the same workers (``s3gan_operator.accelerators``): ``numOfHosts`` pods per
slice, ``google.com/tpu: perWorker`` each. Ray derives a slice's hosts from its accelerator type
and topology; :func:`tpu_scaling_config` asks Ray with the spec's numbers, so a spec whose
``perWorker`` or ``workers`` disagrees with the slice fails here, naming the field, before any
worker starts.
"""

from __future__ import annotations

import ray.train
from ray.util.tpu import get_tpu_worker_resources

from s3gan.spec.model import ExperimentSpec

# GKE's node label value (cloud.google.com/gke-tpu-accelerator) → Ray's accelerator type.
RAY_ACCELERATOR_TYPES = {
    "tpu-v4-podslice": "TPU-V4",
    "tpu-v5p-slice": "TPU-V5P",
    "tpu-v5-lite-podslice": "TPU-V5LITEPOD",
    "tpu-v6e-slice": "TPU-V6E",
}


class SliceError(ValueError):
    """``spec.resources`` does not describe one TPU slice torch-xla can train on; names the
    field."""


def ray_accelerator_type(spec: ExperimentSpec) -> str:
    gke_type = spec.resources.accelerator.type
    if gke_type not in RAY_ACCELERATOR_TYPES:
        raise SliceError(
            f"spec.resources.accelerator.type: {gke_type!r} is not a TPU type this backend "
            f"knows; use one of {sorted(RAY_ACCELERATOR_TYPES)}")
    return RAY_ACCELERATOR_TYPES[gke_type]


def hosts_per_slice(spec: ExperimentSpec) -> int:
    """Ray's count of TPU hosts in the spec's slice; ``perWorker`` must be Ray's chips per host
    for that slice (a TPU pod asks for all of its host's chips)."""
    accelerator = spec.resources.accelerator
    if accelerator.kind != "tpu" or accelerator.topology is None:
        raise SliceError("spec.resources.accelerator: kind tpu with a topology is required")
    try:
        hosts, per_host = get_tpu_worker_resources(accelerator.topology,
                                                   ray_accelerator_type(spec))
    except ValueError as e:
        raise SliceError(f"spec.resources.accelerator.topology: {e}") from None
    if accelerator.per_worker != per_host["TPU"]:
        raise SliceError(
            f"spec.resources.accelerator.perWorker: {accelerator.per_worker} chips, but a host "
            f"of a {accelerator.type} {accelerator.topology} slice has {per_host['TPU']:g}")
    return hosts


def tpu_scaling_config(spec: ExperimentSpec) -> ray.train.ScalingConfig:
    """One worker per host of one slice, each with the host's chips and its CPU share."""
    resources = spec.resources
    hosts = hosts_per_slice(spec)
    if resources.workers != hosts:
        raise SliceError(
            f"spec.resources.workers: {resources.workers} workers, but a "
            f"{resources.accelerator.topology} slice has {hosts} hosts with "
            f"{resources.accelerator.per_worker} chips each; torch-xla training spans one "
            "slice, one worker per host")
    return ray.train.ScalingConfig(
        num_workers=hosts,
        use_tpu=True,
        topology=resources.accelerator.topology,
        accelerator_type=ray_accelerator_type(spec),
        resources_per_worker={"CPU": resources.cpus_per_worker,
                              "TPU": resources.accelerator.per_worker},
    )
