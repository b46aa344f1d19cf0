"""How a stage asks Ray Train for workers and where Ray keeps its own run state.

Workers come from ``spec.resources`` (``workers`` × ``cpusPerWorker``, one accelerator each
when the spec names one); GPU workers join an NCCL process group, CPU workers a gloo one.
Ray's run state lives beside the stage's artefacts, so re-running with the same
``RunConfig(name, storage_path)`` — also on a fresh cluster — is Ray Train V2's resume.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ray.train

from s3gan.data.storage import Location
from s3gan.spec.model import ExperimentSpec

MAX_FAILURES = 2  # worker-group restarts within one attempt; each resumes from the checkpoint


def scaling_config(spec: ExperimentSpec) -> ray.train.ScalingConfig:
    resources = spec.resources
    return ray.train.ScalingConfig(
        num_workers=resources.workers,
        use_gpu=resources.accelerator.kind == "gpu",
        resources_per_worker={"CPU": resources.cpus_per_worker},
    )


def torch_config(spec: ExperimentSpec):
    """The process group of a GPU or CPU worker group (TPU slices have their own)."""
    from s3gan_workers.stages.loopback import LoopbackTorchConfig

    return LoopbackTorchConfig(
        backend="nccl" if spec.resources.accelerator.kind == "gpu" else "gloo")


def run_config(run: Location, directory: str, name: str) -> ray.train.RunConfig:
    return ray.train.RunConfig(
        name=name,
        storage_path=run.path(f"{directory}/ray"),
        storage_filesystem=run.fs,
        failure_config=ray.train.FailureConfig(max_failures=MAX_FAILURES),
        checkpoint_config=ray.train.CheckpointConfig(num_to_keep=1),
    )


@dataclass(frozen=True)
class Replica:
    """Where a training function runs: its rank among ``world`` replicas and its torch device."""

    rank: int
    world: int
    device: str


def start_replica(spec: ExperimentSpec) -> Replica:
    """The preamble of every training function: who this replica is, its share of the CPUs as
    intra-op threads, and its device."""
    import torch

    context = ray.train.get_context()
    torch.set_num_threads(threads(spec.resources.cpus_per_worker))
    replica = Replica(context.get_world_rank(), context.get_world_size(), device())
    if replica.device.startswith("cuda"):
        # NCCL's object collectives (checkpoint streams, rank 0's state) use the current device.
        torch.cuda.set_device(replica.device)
    return replica


def device() -> str:
    """The process's torch device: the one Ray Train assigned to this worker, or, in a plain
    Ray task (evaluation), its accelerator when it was given one."""
    import ray.train.torch
    import torch

    try:
        return str(ray.train.torch.get_device())
    except RuntimeError:  # not inside a training function
        return "cuda" if torch.cuda.is_available() else "cpu"


def threads(cpus_per_worker: float) -> int:
    """Intra-op threads for a worker's share of the CPUs (at least one)."""
    return max(1, round(cpus_per_worker))


def local_scratch(experiment: str, stage: str, key: str) -> Path:
    """A node-local directory for a stage's working files (e.g. checkpoints of an s3:// run)."""
    import tempfile

    return Path(tempfile.gettempdir()) / "s3gan" / experiment / stage / key
