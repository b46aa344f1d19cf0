"""Stage ``train``: the GAN, data-parallel on Ray Train, resumable from the checkpoint store.

Each replica runs the single-process trainer's step (``s3gan.train``) on its share of the
global batch, from its own rank of the training reader, with its own latent stream. G's
BatchNorms are cross-replica (``s3gan.nn.cross_replica_bn``): statistics of the global batch,
as the paper's TPU training had. Gradients are averaged by one all-reduce per network update,
called by the step between backward and the optimiser, so D's synchronisation never runs in
G's update. Rank 0 writes checkpoints to the project's store (verified on read, newest good one
resumed), hands each to Ray Train (which carries it to the run's storage, so a fresh cluster
resumes too), logs scalars, exports metrics, reports progress to the experiment's status, and
draws grids and curves as training goes. When Ray Train reports that a node of the run is
about to be preempted (a drained node: on Kubernetes, a pod told to terminate; asked every few
seconds, ``s3gan_workers.stages.preemption``), rank 0 saves a checkpoint at once and training
goes on until the node goes; Ray Train then resumes from that
checkpoint on the remaining or replacement nodes. Rank 0 also watches for collapse and rolls
every replica back to its last known-good checkpoint (``s3gan_workers.stages.collapse``);
collapse that may not be rolled back ends the stage with
:class:`~s3gan.train.rollback.CollapseError`. Rank 0's own duties are in
``s3gan_workers.stages.chief``. On a TPU slice the stage trains torch-xla replicas instead, one
Ray worker per host (``s3gan_workers.xla.train_loop``), with the same chief and checkpoints.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import ray.train
import torch
from ray.train.torch import TorchTrainer
from s3gan_workers.run_record import StageRecord
from s3gan_workers.stages import labels, ray_train
from s3gan_workers.stages.chief import FINAL, Chief
from s3gan_workers.stages.collapse import Rollback, Stop, follow, shared
from s3gan_workers.stages.context import StageContext, StageOutput
from s3gan_workers.stages.preemption import PreemptionPoll
from s3gan_workers.stages.replicas import (
    average_gradients,
    broadcast_from_rank_zero,
    gather_objects,
    rank_zero_decides,
)
from s3gan_workers.stages.run_files import CURVES, METRICS, MetricsLog, grid_name, torch_load
from s3gan_workers.stages.store_records import restore_records
from s3gan_workers.xla.backend import TpuXlaConfig
from s3gan_workers.xla.slice import tpu_scaling_config

from s3gan.data.reader import TrainingReader
from s3gan.data.storage import Location, open_location
from s3gan.methods import build_method
from s3gan.nn.cross_replica_bn import cross_replica_batch_norms
from s3gan.spec.model import ExperimentSpec
from s3gan.train.checkpoint import MANIFEST, CheckpointSchedule, CheckpointStore, load
from s3gan.train.precision import slow_cpu_bf16
from s3gan.train.retention import Retention
from s3gan.train.rollback import CollapseError
from s3gan.train.trainer import Trainer

NAME = "train"
INPUTS = (labels.NAME,)  # only for the methods that pretrain F


def depends_on(spec: ExperimentSpec) -> dict:
    return {"method": spec.method, "labels": spec.labels, "dataset": spec.dataset,
            "model": spec.model, "training": spec.training.model_copy(
                update={"log_every_steps": 1, "checkpoint": type(spec.training.checkpoint)()}),
            "evaluation": spec.evaluation, "seeds": spec.seeds,
            "workers": spec.resources.workers}


def run(context: StageContext) -> StageOutput:
    spec = context.spec
    job = {"spec": spec, "run_labels": context.run_labels, "run_uri": context.run.uri,
           "directory": context.directory, "labels": context.inputs.get(labels.NAME),
           "checkpoints": str(_checkpoint_root(context)),
           "scratch_store": context.run.uri.startswith("s3://"),
           "feature_network": context.feature_network, "metrics_port": context.metrics_port,
           "fault": context.fault}
    stopped = TorchTrainer(
        train_loop_config=job,
        run_config=ray_train.run_config(context.run, context.directory, NAME),
        **worker_group(spec),
    ).fit().return_value
    if stopped is not None:
        raise CollapseError(f"train stage stopped: {stopped}")
    log = MetricsLog(context.run, context.directory, spec.training.steps)
    logged = log.series("train")
    losses = ", ".join(f"{k} {v:.3f}" for k, v in logged[-1].items() if k[:2] in ("d_", "g_")
                       ) if logged else "none logged"
    context.say(f"train: {spec.training.steps} G steps; last losses {losses}")
    outputs = (FINAL, METRICS, CURVES, grid_name(spec.training.steps))
    return StageOutput({"steps": spec.training.steps, "fid": [
        {"step": r["step"], "fid": r["fid"]} for r in log.series("fid")]}, outputs)


def worker_group(spec: ExperimentSpec) -> dict:
    """The training function and the workers it runs on: on a TPU slice, one Ray worker per
    host, each running torch-xla replicas (``s3gan_workers.xla.train_loop``); otherwise the
    eager loop, one replica per worker on Ray Train's device (one GPU each, NCCL, for
    ``accelerator.kind: gpu``)."""
    if spec.resources.accelerator.kind != "tpu":
        return {"train_loop_per_worker": _worker, "scaling_config": ray_train.scaling_config(spec),
                "torch_config": ray_train.torch_config(spec)}
    from s3gan_workers.xla import train_loop  # imported here: it uses this module's functions

    return {"train_loop_per_worker": train_loop.host_worker, "torch_config": TpuXlaConfig(),
            "scaling_config": tpu_scaling_config(spec)}


def _checkpoint_root(context: StageContext) -> Path:
    """The store's directory: inside the run directory when it is local, else node-local
    scratch (Ray Train carries each checkpoint to the run's storage)."""
    if context.run.uri.startswith("s3://"):
        return ray_train.local_scratch(context.experiment, NAME, context.key) / "checkpoints"
    return Path(context.run.path(f"{context.directory}/checkpoints"))


def restored_trainer(spec: ExperimentSpec, run: Location, labels_record: StageRecord | None,
                     state_path: str, device: str) -> Trainer:
    """A trainer holding the state saved at ``state_path`` of the run, for sampling only."""
    trainer = Trainer(spec, method_for(spec, run, labels_record), iter(()), device)
    trainer.load_state_dict(torch_load(run, state_path))
    return trainer


def method_for(spec: ExperimentSpec, run: Location, labels_record: StageRecord | None):
    """The spec's method, with the labels stage's inferred labels when it ran."""
    inferred = (labels.read_inferred_labels(run, labels_record.directory)
                if labels_record is not None else None)
    return build_method(spec, inferred)


def resume_state(store: CheckpointStore, carried: ray.train.Checkpoint | None) -> dict | None:
    """The newest verified checkpoint: the store's, else the one Ray Train carried (copied into
    the store and verified there first). None for a fresh start."""
    adopt_carried(store, carried)
    return latest_state(store)


def adopt_carried(store: CheckpointStore, carried: ray.train.Checkpoint | None) -> None:
    """Copy the checkpoint Ray Train carried into an empty store (verified when loaded)."""
    if store.latest() is None and carried is not None:
        with carried.as_directory() as directory:
            step = int(load_manifest_step(Path(directory)))
            target = store.root / f"step-{step:09d}"
            if not target.exists():
                shutil.copytree(directory, target)


def latest_state(store: CheckpointStore) -> dict | None:
    latest = store.latest()
    return load(latest.path) if latest is not None else None


def load_manifest_step(directory: Path) -> int:
    return json.loads((directory / MANIFEST).read_text())["step"]


def _worker(job: dict) -> str | None:
    """One replica's training; rank 0 returns why training stopped early, else None."""
    spec: ExperimentSpec = job["spec"]
    replica = ray_train.start_replica(spec)
    rank, world, device = replica.rank, replica.world, replica.device
    run = open_location(job["run_uri"], spec.storage)
    method = method_for(spec, run, job["labels"])
    store, retention = rank_zero_store(job, spec, run) if rank == 0 else (None, None)
    state = resume_state(store, ray.train.get_checkpoint()) if rank == 0 else None
    state = broadcast_from_rank_zero(state)
    reader = training_reader(spec, method, state, rank, world)
    trainer = Trainer(spec, method, iter(reader), device, average_gradients, rank, world)
    if rank == 0 and slow_cpu_bf16(trainer.gan_step.training.precision, trainer.device):
        print("train: training.precision bf16 on a CPU without native bf16 (AVX512-BF16 or AMX) "
              "is emulated and slower than fp32", flush=True)
    cross_replica_batch_norms(trainer.generator)
    resume_replica(trainer, state, rank)
    chief = Chief(spec, job, run, trainer, store, retention, world) if rank == 0 else None
    schedule, poll = CheckpointSchedule(spec.training.checkpoint), PreemptionPoll()
    steps, fault = spec.training.steps, job["fault"]
    saved_on_notice = False
    while trainer.step < steps:
        started = time.monotonic()
        terms = trainer.train_step()
        at_point = at_evaluation_point(trainer.step, spec)
        event = (chief.stepped(terms, time.monotonic() - started, at_point)
                 if chief is not None else None)
        # The step's one collective: rank 0's three decisions, in one broadcast.
        event_flagged, checkpoint_due, ask_for_notice = rank_zero_decides(
            (event is not None, schedule.due(trainer.step), poll.due()), torch.device(device))
        event = shared(event, event_flagged)
        if isinstance(event, Stop):
            if chief is not None:
                chief.close()
            return event.reason
        if isinstance(event, Rollback):
            if rank != 0:
                follow(trainer, event, rank)
            continue
        # A barrier across the workers, hence asked for only when rank 0 says so.
        notice = ray.train.get_preemption_info() if ask_for_notice else None
        preempted = notice is not None and not saved_on_notice
        if preempted and chief is not None:
            chief.preempted(notice)
        if trainer.step == steps or preempted or checkpoint_due:
            _checkpoint(trainer, chief, rank)
            schedule.saved()
            saved_on_notice = saved_on_notice or preempted
        if fault is not None and rank == 0 and trainer.step == fault.step:
            _kill_once(fault.marker)
    if chief is not None:
        chief.finish()
    return None


def training_reader(spec: ExperimentSpec, method, state: dict | None, rank: int,
                    world: int) -> TrainingReader:
    """Replica ``rank``'s share of the reals, from where ``state`` (if any) left off."""
    start = state["progress"]["batches_consumed"] if state is not None else 0
    mask = (spec.labels.fraction, spec.seeds.mask) if spec.traits.uses_labelled_subset else None
    return TrainingReader(spec.dataset.uri, spec.dataset.train_split, spec.micro_batch,
                          spec.seeds.gan, rank=rank, world_size=world,
                          labelled_only=method.reads_only_labelled, mask=mask,
                          start_step=start, storage=spec.storage)


def resume_replica(trainer: Trainer, state: dict | None, rank: int) -> None:
    """Load ``state`` (if any) and replica ``rank``'s own sampling stream from it."""
    if state is not None:
        trainer.load_state_dict(state)
        trainer.restore_sampling_stream(state["rng"]["replicas"][rank])


def at_evaluation_point(step: int, spec: ExperimentSpec) -> bool:
    """Whether rank 0 measures FID after G step ``step`` (the final step's is the evaluate
    stage's)."""
    return step % spec.evaluation.every_steps == 0 and step < spec.training.steps


def rank_zero_store(job: dict, spec: ExperimentSpec,
                    run: Location) -> tuple[CheckpointStore, Retention]:
    """The checkpoint store, sparing the checkpoints its retention record protects."""
    root = Path(job["checkpoints"])
    if job["scratch_store"]:
        # Node-local scratch may hold another run's checkpoints under the same key: what Ray
        # Train carried to this run's storage, and the records kept with it, are the only
        # state that belongs to it.
        shutil.rmtree(root, ignore_errors=True)
        restore_records(run, job["directory"], root)
    return checkpoint_store(root, spec)


def checkpoint_store(root: Path, spec: ExperimentSpec) -> tuple[CheckpointStore, Retention]:
    retention = Retention(root)
    store = CheckpointStore(root, spec.training.checkpoint.keep, protected=retention.protected)
    return store, retention


def _checkpoint(trainer: Trainer, chief: Chief | None, rank: int) -> None:
    """Every replica's sampling stream goes into the state; rank 0 saves and reports it."""
    streams = gather_objects(trainer.rng.get_state())
    checkpoint = chief.save(streams) if chief is not None else None
    ray.train.report({"step": trainer.step}, checkpoint=checkpoint,
                     checkpoint_dir_name=f"step-{trainer.step:09d}")


def _kill_once(marker: str) -> None:
    if os.path.exists(marker):
        return
    Path(marker).parent.mkdir(parents=True, exist_ok=True)
    Path(marker).write_text(f"killed by fault drill, pid {os.getpid()}\n")
    os.kill(os.getpid(), signal.SIGKILL)
