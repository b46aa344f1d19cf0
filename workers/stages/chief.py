"""Rank 0's duties in the train stage: checkpoints, the metrics log, sample grids and curves,
the exporter, FID points, the collapse guard, and progress in the experiment's status."""

from __future__ import annotations

import time

import ray.train
import torch
from s3gan_workers.stages import evaluate
from s3gan_workers.stages.collapse import Event, Rollback, watched
from s3gan_workers.stages.run_files import (
    CURVES,
    MetricsLog,
    curves_png,
    grid_name,
    grid_png,
    torch_bytes,
)
from s3gan_workers.stages.store_records import keep_records
from s3gan_workers.status import Progress, StatusReporter, ThrottledReporter

from s3gan.data.storage import Location
from s3gan.eval.sampling import class_rows, grid_classes
from s3gan.monitor.exporter import Exporter
from s3gan.monitor.progress import RateMeter
from s3gan.nn.cross_replica_bn import replica_local
from s3gan.spec.model import ExperimentSpec
from s3gan.train.checkpoint import CheckpointStore
from s3gan.train.retention import Retention
from s3gan.train.rollback import CollapseGuard
from s3gan.train.trainer import Trainer

STAGE = "train"
FINAL = "final.pt"
GRID_PER_CLASS = 10


class Chief:
    """Rank 0's duties: checkpoints, the metrics log, pictures, the exporter, FID points, the
    collapse guard, and progress in the experiment's status."""

    def __init__(self, spec: ExperimentSpec, job: dict, run: Location, trainer: Trainer,
                 store: CheckpointStore, retention: Retention, replicas: int):
        self.spec, self.job, self.run, self.trainer, self.store = spec, job, run, trainer, store
        # Data-parallel replicas: Ray workers on CPU/GPU, chips (not hosts) on a TPU slice.
        self.replicas = replicas
        self.directory = job["directory"]
        self.log = MetricsLog(run, self.directory, trainer.step)
        self.exporter = Exporter()
        if job["metrics_port"] is not None:
            self.exporter.start(job["metrics_port"])
        self.labels = dict(job["run_labels"])  # experiment and sweep trial
        self.guard = CollapseGuard(trainer, store, retention, exporter=self.exporter,
                                   run_labels=self.labels)
        self.status = ThrottledReporter(StatusReporter.from_environment())
        measured = self.log.series("fid")
        self.fid = measured[-1]["fid"] if measured else None
        self.network = None
        self.meter = RateMeter(spec.training.steps, start=trainer.step)
        print(f"train: G steps {trainer.step} → {spec.training.steps}, "
              f"{trainer.images_per_step} real images per replica and G step", flush=True)

    def stepped(self, terms: dict[str, float], seconds: float, at_point: bool) -> Event | None:
        """Log and export one G step, measure FID at an evaluation point, and feed both to the
        collapse guard; what the replicas must do about a collapse, if anything."""
        self._record(terms, seconds)
        event = watched(self.guard, lambda: self.guard.after_step(terms))
        if event is None and at_point:
            fid = self.measure()
            event = watched(self.guard, lambda: self.guard.after_evaluation(self.trainer.step,
                                                                            fid))
        if isinstance(event, Rollback):
            # What was logged after the restored step belongs to the abandoned run.
            self.log.flush()
            self.log = MetricsLog(self.run, self.directory, event.record.restored_step)
            self._keep_records()
        return event

    def _keep_records(self) -> None:
        if self.job["scratch_store"]:
            keep_records(self.store.root, self.run, self.directory)

    def _record(self, terms: dict[str, float], seconds: float) -> None:
        step, spec = self.trainer.step, self.spec
        images = self.trainer.images_per_step * self.replicas
        self.meter.update(step)
        self.exporter.set("s3gan_training_step", step, **self.labels)
        self.exporter.set("s3gan_last_step_timestamp_seconds", time.time(), **self.labels)
        self.exporter.inc("s3gan_training_images_total", images, **self.labels)
        self.exporter.observe("s3gan_step_duration_seconds", seconds, **self.labels)
        for term, value in terms.items():
            self.exporter.set("s3gan_loss", value, term=term, **self.labels)
        if step % spec.training.log_every_steps == 0 or step == spec.training.steps:
            rate = (self.meter.rate or 0.0) * images  # over the last minute, not since start
            self.log.add({"step": step, "kind": "train", "imagesPerSecond": rate, **terms})
            print(f"step {step}/{spec.training.steps}  "
                  + "  ".join(f"{k} {v:.4f}" for k, v in terms.items())
                  + f"  {self.meter.pace('img', images)}", flush=True)
            self.status.report(Progress(STAGE, step, fid=self.fid, images_per_second=rate))

    def preempted(self, notice: ray.train.PreemptionInfo) -> None:
        deadline = (f"in {notice.deadline_ms / 1000 - time.time():.0f} s"
                    if notice.deadline_ms is not None else "with no deadline")
        print(f"step {self.trainer.step}: nodes {', '.join(notice.preempted_node_ids)} "
              f"(ranks {notice.preempted_ranks}) will be preempted {deadline}; saving a "
              "checkpoint now, Ray Train resumes from it", flush=True)

    def measure(self) -> float:
        if self.network is None:
            self.network = self.job["feature_network"]()
        with replica_local(self.trainer.generator):
            sampler = self.trainer.evaluation_generator()
        scores = evaluate.measure(sampler, self.spec, self.trainer.method, self.network)
        evaluate.export_scores(self.exporter, self.spec, self.labels, scores)
        self.log.add({"step": self.trainer.step, "kind": "fid", "fid": scores.fid,
                      "samplesPerSet": scores.samples_per_set})
        print(f"step {self.trainer.step}: FID {scores.fid:.2f} "
              f"({scores.samples_per_set} samples per set)", flush=True)
        self.fid = scores.fid
        return scores.fid

    def save(self, streams: list) -> ray.train.Checkpoint:
        trainer, spec = self.trainer, self.spec
        state = trainer.state_dict()
        state["rng"]["replicas"] = streams
        saved = self.store.save(trainer.step, state)
        self.guard.after_checkpoint(trainer.step)
        self._keep_records()
        self.exporter.set("s3gan_checkpoint_last_success_timestamp_seconds", time.time(),
                          **self.labels)
        with replica_local(trainer.generator):
            sampler = trainer.evaluation_generator()
        classes = grid_classes(trainer.method.num_classes)
        images = class_rows(sampler, classes, GRID_PER_CLASS, spec.model.z_dim,
                            spec.model.output_range, spec.evaluation.truncation,
                            torch.Generator(trainer.device).manual_seed(spec.seeds.gan))
        self.run.write_whole(f"{self.directory}/{grid_name(trainer.step)}",
                             grid_png(images, GRID_PER_CLASS))
        self.log.flush()
        self.run.write_whole(f"{self.directory}/{CURVES}", curves_png(self.log))
        print(f"checkpoint {saved.path}", flush=True)
        return ray.train.Checkpoint.from_directory(str(saved.path))

    def finish(self) -> None:
        state = self.trainer.state_dict()
        state["rng"].pop("replicas", None)
        self.run.write_whole(f"{self.directory}/{FINAL}", torch_bytes(state))
        self.close()

    def close(self) -> None:
        self.log.flush()
        self.exporter.stop()
