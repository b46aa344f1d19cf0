"""Sweeps on Ray Tune: one trial per grid point and seed, shared stages computed once.

Layout of the sweep directory (``storage.runs``/<experiment>, or ``--run-dir``): the stages of
every trial live under ``stages/<stage>/<key>/`` as in a single run, so trials that need the same
F, label table or real-set statistics find them by key; ``trials/<trial>/`` holds each trial's
``trial.json`` (its overrides and spec), ``run.json`` (its stage records) and the
``experiment.yaml`` the trial ran; ``sweep/tune/`` is Ray Tune's experiment state;
``sweep.json`` summarises every trial's state and scores. A trial's stages get its name
(``StageContext.trial``) for their metrics' ``trial`` label.

Before any trial starts, a pre-pass runs the stages that do not depend on the GAN (pretraining
F, inferring labels) once per distinct key, and computes the real-set FID statistics once. Each
trial is a function trainable (Ray Train V2's pattern: the pipeline's train stage runs its own
``TorchTrainer.fit()`` inside it) that reports FID against G step with ``ray.tune.report``, so
ASHA can stop the worse trials early. Re-running the same sweep restores Tune's state: finished
trials are kept, unfinished ones continue (their finished stages are skipped by their records),
and a failed trial is recorded as such without stopping the others.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

import ray
from ray import tune
from ray.tune.schedulers import ASHAScheduler
from s3gan_workers import pipeline, ray_session
from s3gan_workers.run_record import stage_key
from s3gan_workers.stages import evaluate, labels, pretrain, train
from s3gan_workers.stages.context import FeatureNetworkFactory
from s3gan_workers.stages.run_files import METRICS
from s3gan_workers.stages.split import image_batches
from s3gan_workers.status import StatusReporter
from s3gan_workers.sweep_exporter import SweepExporter, exporting
from s3gan_workers.sweep_grid import Trial, trial_spec

from s3gan.data.documents import write_json
from s3gan.data.manifest import read_manifest
from s3gan.data.storage import Location, StorageNotFound, open_location
from s3gan.eval import real_stats
from s3gan.monitor.exporter import Exporter
from s3gan.spec.model import Experiment, ExperimentSpec

SWEEP_SUMMARY = "sweep.json"
TRIAL_FILE = "trial.json"
TUNE_DIR = "sweep"
TUNE_NAME = "tune"
# The trial's own process only waits on its stages' Ray Train workers and tasks; Ray rejects a
# trial with no CPU at all.
TRIAL_CPU = 0.1
POLL_SECONDS = 2.0
SHARED_STAGES = (pretrain, labels)
# The class-conditional scores, when they were measured.
CLASS_CONDITIONAL_FIELDS = ("classAccuracyScore", "classAccuracyStandardError",
                            "classifierTestAccuracy", "intraClassFid")
# A sweep reports its progress through its own metrics; trials never patch the experiment.
QUIET = StatusReporter(None)


@dataclass(frozen=True)
class TrialOutcome:
    name: str
    state: str  # "terminated" or "error"
    metrics: dict
    error: str | None


def stage_keys(spec: ExperimentSpec) -> dict[str, str]:
    """The key every stage of ``spec``'s pipeline will have (``pipeline.run_pipeline``'s rule),
    known before any of them runs."""
    keys: dict[str, str] = {}
    for stage in pipeline.plan(spec):
        inputs = {n: keys[n] for n in stage.INPUTS if n in keys}
        keys[stage.NAME] = stage_key(stage.NAME, {**stage.depends_on(spec), "inputs": inputs})
    return keys


def concurrent_trials(spec: ExperimentSpec, cluster_cpus: float) -> int:
    """How many trials the cluster runs at once: each holds ``TRIAL_CPU`` plus its workers."""
    per_trial = TRIAL_CPU + spec.resources.workers * spec.resources.cpus_per_worker
    fits = max(1, math.floor(cluster_cpus / per_trial + 1e-9))
    wanted = spec.sweep.max_concurrent_trials if spec.sweep is not None else None
    return min(fits, wanted) if wanted else fits


def run_shared_stages(experiment: Experiment, run: Location, trials: list[Trial],
                      feature_network: FeatureNetworkFactory, say: Callable[[str], None]) -> None:
    """F and its labels once per distinct key, then the real-set statistics once per split."""
    done: set[tuple[str, ...]] = set()
    for trial in trials:
        if pipeline.plan(trial.spec)[0] is not pretrain:
            continue
        keys = stage_keys(trial.spec)
        shared = tuple(keys[s.NAME] for s in SHARED_STAGES)
        if shared in done:
            continue
        done.add(shared)
        say(f"shared stages for {trial.name} and every trial with the same F and labels:")
        pipeline.run_pipeline(experiment.model_copy(update={"spec": trial.spec}), run,
                              feature_network, say=say, stages=SHARED_STAGES, summary=None,
                              reporter=QUIET)
    splits = {(t.spec.dataset.uri, t.spec.dataset.eval_split, t.spec.evaluation.real_samples): t
              for t in trials}
    for trial in splits.values():
        spec = pipeline.anchored(trial.spec, os.getcwd())
        cpus = spec.resources.cpus_per_worker
        identity = ray.get(_real_statistics.options(num_cpus=cpus).remote(spec, feature_network))
        say(f"real statistics of {spec.dataset.eval_split!r} ({identity}): ready")


@ray.remote
def _real_statistics(spec: ExperimentSpec, feature_network: FeatureNetworkFactory) -> str:
    """The evaluate stage's cached real statistics, computed before the trials race for them."""
    network = feature_network()
    dataset = open_location(spec.dataset.uri, spec.storage)
    split = spec.dataset.eval_split
    samples = spec.evaluation.real_samples or read_manifest(dataset).counts[split]
    real_stats.cached(dataset, real_stats.RealStatsKey(split, network.identity, samples), network,
                      image_batches(dataset, split, evaluate.REAL_BATCH))
    return network.identity


def _fid_points(run: Location, train_directory: str) -> list[dict]:
    try:
        lines = run.read_bytes(f"{train_directory}/{METRICS}").decode().splitlines()
    except StorageNotFound:
        return []
    return [r for r in map(json.loads, filter(None, lines)) if r["kind"] == "fid"]


def _run_trial(config: dict, experiment: Experiment, run_uri: str, overrides: dict[str, dict],
               feature_network: FeatureNetworkFactory, origin: str) -> None:
    """The function trainable: one trial's pipeline in a thread, its FID points reported as
    training writes them, the final evaluation reported last. ``origin``: the driver's working
    directory, which relative local paths of the spec are relative to (Tune runs the trial in
    its own)."""
    base = experiment.spec
    name = config["trial"]
    trial = Trial(name, overrides[name], trial_spec(base, overrides[name]))
    run = open_location(run_uri, base.storage)
    write_json(run, f"{trial.directory}/{TRIAL_FILE}", {
        "trial": trial.name, "overrides": trial.overrides,
        "spec": trial.spec.model_dump(mode="json", by_alias=True, exclude_none=True)})
    train_directory = f"stages/{train.NAME}/{stage_keys(trial.spec)[train.NAME]}"
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["records"] = pipeline.run_pipeline(
                experiment.model_copy(update={"spec": trial.spec}), run, feature_network,
                say=lambda line: print(f"[{trial.name}] {line}", flush=True),
                summary=f"{trial.directory}/{pipeline.SUMMARY}", reporter=QUIET,
                trial=trial.name, origin=origin)
        except BaseException as e:  # handed to the trial's thread, which fails the trial
            outcome["error"] = e

    worker = threading.Thread(target=work, name=f"trial {trial.name}", daemon=True)
    worker.start()
    reported = 0
    while worker.is_alive():
        worker.join(POLL_SECONDS)
        for point in _fid_points(run, train_directory)[reported:]:
            tune.report({"step": point["step"], "fid": point["fid"]})
            reported += 1
    if "error" in outcome:
        raise outcome["error"]
    scores = outcome["records"][evaluate.NAME].results
    tune.report({"step": trial.spec.training.steps, "fid": scores["fid"],
                 "inceptionScore": scores["inceptionScore"], "network": scores["network"],
                 "samplesPerSet": scores["samplesPerSet"], "sets": scores["sets"],
                 **{k: scores[k] for k in CLASS_CONDITIONAL_FIELDS if k in scores}, "done": True})


def _tuner(experiment: Experiment, run: Location, trials: list[Trial], scheduler: str,
           feature_network: FeatureNetworkFactory, callbacks: list) -> tune.Tuner:
    """A new Tune experiment for ``trials``, or the interrupted one restored from storage."""
    spec = experiment.spec
    trainable = tune.with_resources(
        tune.with_parameters(_run_trial, experiment=experiment, run_uri=run.uri,
                             overrides={t.name: t.overrides for t in trials},
                             feature_network=feature_network, origin=os.getcwd()),
        {"cpu": TRIAL_CPU})
    path = run.path(f"{TUNE_DIR}/{TUNE_NAME}")
    if tune.Tuner.can_restore(path, storage_filesystem=run.fs):
        return tune.Tuner.restore(path, trainable, resume_unfinished=True,
                                  resume_errored=False, storage_filesystem=run.fs)
    asha = None
    if scheduler == "asha":
        steps = spec.training.steps
        asha = ASHAScheduler(time_attr="step", max_t=steps,
                             grace_period=min(spec.evaluation.every_steps, steps))
    return tune.Tuner(
        trainable,
        param_space={"trial": tune.grid_search([t.name for t in trials])},
        tune_config=tune.TuneConfig(
            metric="fid", mode="min", scheduler=asha,
            max_concurrent_trials=concurrent_trials(spec, ray.cluster_resources()["CPU"])),
        run_config=tune.RunConfig(
            name=TUNE_NAME, storage_path=run.path(TUNE_DIR), storage_filesystem=run.fs,
            failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
            callbacks=callbacks, verbose=0),
    )


def run_sweep(experiment: Experiment, run: Location, trials: list[Trial], scheduler: str = "none",
              feature_network: FeatureNetworkFactory | None = None,
              metrics_port: int | None = None,
              say: Callable[[str], None] = print) -> list[TrialOutcome]:
    """The shared pre-pass, then every trial on the connected Ray cluster (resuming an
    interrupted sweep of the same directory); writes ``sweep.json`` and returns each trial's
    outcome."""
    spec = experiment.spec
    feature_network = feature_network or evaluate.InceptionNetwork(
        spec.evaluation.inception_weights, spec.storage)
    run_shared_stages(experiment, run, trials, feature_network, say)
    exporter = Exporter()
    if metrics_port is not None:
        exporter.start(metrics_port)
    try:
        callback = SweepExporter(experiment.metadata.name, spec)
        say(f"sweep: {len(trials)} trial(s) → {run.url(TUNE_DIR)}")
        with exporting(experiment.metadata.name, exporter):
            results = _tuner(experiment, run, trials, scheduler, feature_network,
                             [callback]).fit()
    finally:
        exporter.stop()
    outcomes = [_outcome(r) for r in results]
    order = {t.name: i for i, t in enumerate(trials)}
    outcomes.sort(key=lambda o: order.get(o.name, len(order)))
    summary = {"experiment": experiment.metadata.name, "scheduler": scheduler, "trials": [
        {"trial": o.name, "state": o.state, "error": o.error, "metrics": o.metrics,
         "directory": t.directory, "overrides": t.overrides}
        for o, t in zip(outcomes, (_by_name(trials)[o.name] for o in outcomes), strict=True)]}
    write_json(run, SWEEP_SUMMARY, summary)
    return outcomes


def _by_name(trials: list[Trial]) -> dict[str, Trial]:
    return {t.name: t for t in trials}


def error_summary(error: BaseException) -> str:
    """The root cause's line of a trial's error (Ray wraps it in tracebacks of every layer it
    crossed); the whole traceback stays in Tune's trial directory as ``error.txt``."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not set(line.strip()) <= set("^~")]
    return lines[-1] if lines else type(error).__name__


def _outcome(result) -> TrialOutcome:
    metrics = {k: v for k, v in (result.metrics or {}).items()
               if k in ("step", "fid", "inceptionScore", "network", "samplesPerSet", "sets",
                        *CLASS_CONDITIONAL_FIELDS, "done")}
    error = None if result.error is None else error_summary(result.error)
    return TrialOutcome(result.config["trial"], "error" if error else "terminated", metrics,
                        error)


def execute_sweep(experiment: Experiment, trials: list[Trial], scheduler: str,
                  run_dir: str | None = None, address: str | None = None,
                  num_cpus: int | None = None, metrics_port: int | None = None) -> int:
    """Connect to Ray (or start an embedded one on 127.0.0.1), run the sweep, print a summary.
    Exit status 1 when a trial failed, else 0."""
    run = pipeline.run_location(experiment, run_dir)
    ray_session.connect(pipeline.ray_temp_dir(run), address, num_cpus)
    try:
        outcomes = run_sweep(experiment, run, trials, scheduler, metrics_port=metrics_port)
    finally:
        ray.shutdown()
    for o in outcomes:
        shown = (f"FID {o.metrics['fid']:.2f} at step {o.metrics['step']}" if "fid" in o.metrics
                 else "no FID")
        if "classAccuracyScore" in o.metrics:
            shown += (f", CAS {o.metrics['classAccuracyScore']:.3f} ± "
                      f"{o.metrics['classAccuracyStandardError']:.3f}")
        if "intraClassFid" in o.metrics:
            shown += f", intra-class FID {o.metrics['intraClassFid']:.2f}"
        print(f"{o.name}: {o.state}, {shown}" + (f" ({o.error})" if o.error else ""))
    print(f"sweep directory: {run.uri}  (summary: {run.url(SWEEP_SUMMARY)})")
    return 1 if any(o.state == "error" for o in outcomes) else 0
