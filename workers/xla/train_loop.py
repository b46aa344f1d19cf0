"""Stage ``train`` on a TPU slice: one Ray Train worker per host, one torch-xla replica per chip.

The Ray worker (:func:`host_worker`) does what needs Ray Train: on host 0 it prepares the
checkpoint store and copies into it the checkpoint Ray Train carried, then starts the host's
replicas (:func:`s3gan_workers.xla.replicas.launch`) and, when they end, hands the newest
checkpoint of the store to Ray Train. The replicas (:func:`replica_loop`) are processes of their
own, outside Ray Train: each reads its rank of the training reader (rank and world from PJRT)
and trains an :class:`~s3gan.train.xla_step.XlaTrainer`; replica 0 keeps the eager stage's chief
duties (``s3gan_workers.stages.chief``: checkpoints as CPU tensors in the eager format through
the same store, the metrics log, the exporter, status, grids and curves, FID points, the
collapse guard), and every replica follows its rollbacks as in the eager stage.

Not here, because the replicas cannot reach Ray Train: checkpoints reach Ray Train's storage
only when the replicas end (a local run's store is in the run directory and resumes from any
checkpoint; an ``s3://`` run resumes from the last one Ray Train received), the preemption
notice is not watched, and the fault drill does not apply.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import ray.train
from s3gan_workers.stages import train
from s3gan_workers.stages.chief import Chief
from s3gan_workers.stages.collapse import Rollback, Stop, follow, shared
from s3gan_workers.stages.replicas import (
    broadcast_from_rank_zero,
    gather_objects,
    rank_zero_decides,
)
from s3gan_workers.xla.replicas import launch

from s3gan.data.storage import open_location
from s3gan.spec.model import ExperimentSpec
from s3gan.train.checkpoint import CheckpointSchedule
from s3gan.train.xla_step import XlaTrainer

STOPPED = "stopped.txt"  # in the store's directory: why replica 0 ended training early


def host_worker(job: dict) -> str | None:
    """One host's share of the training; host 0 returns why training stopped early, else None."""
    spec: ExperimentSpec = job["spec"]
    chief_host = ray.train.get_context().get_world_rank() == 0
    store = None
    if chief_host:
        store, _ = train.rank_zero_store(job, spec, open_location(job["run_uri"], spec.storage))
        train.adopt_carried(store, ray.train.get_checkpoint())
        (store.root / STOPPED).unlink(missing_ok=True)
    launch(replica_loop, job)
    latest = store.latest() if store is not None else None
    ray.train.report(
        {"step": spec.training.steps},
        checkpoint=ray.train.Checkpoint.from_directory(str(latest.path)) if latest else None,
        checkpoint_dir_name=latest.path.name if latest else None)
    return stop_reason(store.root) if store is not None else None


def stop_reason(root: Path) -> str | None:
    stopped = root / STOPPED
    return stopped.read_text() if stopped.exists() else None


def replica_loop(job: dict) -> None:
    """One XLA replica's training, resumed from the store's newest checkpoint if it has one."""
    import torch_xla.runtime as xr

    spec: ExperimentSpec = job["spec"]
    rank, world = xr.global_ordinal(), xr.world_size()
    run = open_location(job["run_uri"], spec.storage)
    method = train.method_for(spec, run, job["labels"])
    store, retention = (train.checkpoint_store(Path(job["checkpoints"]), spec) if rank == 0
                        else (None, None))
    state = broadcast_from_rank_zero(train.latest_state(store) if rank == 0 else None)
    reader = train.training_reader(spec, method, state, rank, world)
    trainer = XlaTrainer(spec, method, iter(reader), rank, world)
    train.resume_replica(trainer, state, rank)
    chief = Chief(spec, job, run, trainer, store, retention, world) if rank == 0 else None
    reason = _train(trainer, chief, spec, rank)
    if chief is None:
        return
    if reason is None:
        chief.finish()
        return
    chief.close()
    _write_whole(store.root / STOPPED, reason)


def _train(trainer: XlaTrainer, chief: Chief | None, spec: ExperimentSpec,
           rank: int) -> str | None:
    """G steps to ``training.steps``; why collapse ended them early, else None."""
    schedule = CheckpointSchedule(spec.training.checkpoint)
    device = trainer.xla_device
    while trainer.step < spec.training.steps:
        started = time.monotonic()
        terms = trainer.train_step()
        event = (chief.stepped(terms, time.monotonic() - started,
                               train.at_evaluation_point(trainer.step, spec))
                 if chief is not None else None)
        event_flagged, checkpoint_due = rank_zero_decides(
            (event is not None, schedule.due(trainer.step)), device)
        event = shared(event, event_flagged)
        if isinstance(event, Stop):
            return event.reason
        if isinstance(event, Rollback):
            if rank != 0:
                follow(trainer, event, rank)
            continue
        if trainer.step == spec.training.steps or checkpoint_due:
            streams = gather_objects(trainer.rng.get_state())
            if chief is not None:
                chief.save(streams)
            schedule.saved()
    return None


def _write_whole(path: Path, text: str) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(text)
    os.replace(partial, path)
