"""The pipeline runner: pretrain F → infer labels → train the GAN → evaluate, resumably.

``python -m s3gan_workers.pipeline --experiment FILE`` is the fixed entrypoint of the operator's
RayJob (the experiment arrives as a mounted file, never through a shell); ``s3gan run`` calls the
same :func:`execute`. Each stage's artefacts live under ``stages/<stage>/<key>/`` of the run
directory (``storage.runs``/<experiment>, or ``--run-dir``), keyed by what the stage depends on;
a stage whose completion record exists is skipped, so re-running resumes, and a stage that was
cut short resumes from its own checkpoints. The methods that need no F run train and evaluate
only. A finished run leaves ``run.json`` (every stage's key, directory and results) and, beside
it, ``experiment.yaml``: the experiment it ran, defaults filled in, which ``s3gan report`` reads.
A stage that raises writes no completion record: ``run.json`` then holds the stages finished so
far and ``failure`` (stage, reason, time), the experiment's ``status.lastFailure`` says the same,
and the error goes on up, so the process exits non-zero and the RayJob fails.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import posixpath
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from types import ModuleType

import ray
import yaml
from s3gan_workers import ray_session
from s3gan_workers.run_record import StageRecord, read_record, stage_dir, stage_key, write_record
from s3gan_workers.stages import evaluate, labels, pretrain, train
from s3gan_workers.stages.context import FeatureNetworkFactory, KillAtStep, StageContext
from s3gan_workers.stages.run_files import CURVES, METRICS, grid_name
from s3gan_workers.status import Failure, Progress, StatusReporter

from s3gan.cli.experiment_file import USAGE_ERROR, read_experiment
from s3gan.cli.run_cmd import add_run_arguments
from s3gan.data.documents import write_json
from s3gan.data.storage import Location, open_location
from s3gan.spec import SpecError
from s3gan.spec.model import Experiment, ExperimentSpec
from s3gan.train.checkpoint import CheckpointStore

SUMMARY = "run.json"
INTERRUPTED = 128 + 2  # as a shell reports SIGINT
EXPERIMENT = "experiment.yaml"  # beside the summary
# Ray's Unix sockets live under its temporary directory, and an AF_UNIX path may hold 107 bytes;
# Ray adds up to ~60 (session_<date>_<time>_<pid>/sockets/plasma_store).
RAY_TEMP_MAX = 40


def plan(spec: ExperimentSpec) -> tuple[ModuleType, ...]:
    """The stages ``spec``'s method needs, in order."""
    if spec.traits.pretraining is None:
        return (train, evaluate)
    return (pretrain, labels, train, evaluate)


def run_location(experiment: Experiment, run_dir: str | None) -> Location:
    spec = experiment.spec
    uri = run_dir or f"{spec.storage.runs.rstrip('/')}/{experiment.metadata.name}"
    return open_location(uri, spec.storage)


def run_pipeline(
    experiment: Experiment,
    run: Location,
    feature_network: FeatureNetworkFactory | None = None,
    metrics_port: int | None = None,
    fault: KillAtStep | None = None,
    say: Callable[[str], None] = print,
    stages: tuple[ModuleType, ...] | None = None,
    summary: str | None = SUMMARY,
    reporter: StatusReporter | None = None,
    trial: str = "",
    origin: str | None = None,
) -> dict[str, StageRecord]:
    """Run (or skip, when finished) every stage on the connected Ray cluster; returns the
    completion records by stage. ``stages`` (default: :func:`plan`) lets a sweep run the shared
    ones first; ``summary`` is where the run's summary goes, with the experiment beside it
    (None: nowhere); ``trial`` names the sweep trial the run is, for its metrics' labels;
    ``origin`` is the directory relative local paths of the spec are read from (default: this
    process's working directory; a sweep's trials pass the driver's, as Tune runs each trial in
    a directory of its own)."""
    name = experiment.metadata.name
    spec = anchored(experiment.spec, origin or os.getcwd())
    feature_network = feature_network or evaluate.InceptionNetwork(
        spec.evaluation.inception_weights, spec.storage)
    stages = stages or plan(spec)
    reporter = reporter or StatusReporter.from_environment()  # a no-op outside a cluster
    records: dict[str, StageRecord] = {}
    for number, stage in enumerate(stages, 1):
        inputs = {n: records[n].key for n in stage.INPUTS if n in records}
        # Keys come from the spec as written, so a run directory moved with its dataset keeps them.
        key = stage_key(stage.NAME, {**stage.depends_on(experiment.spec), "inputs": inputs})
        directory = stage_dir(stage.NAME, key)
        head = f"[{number}/{len(stages)}] {stage.NAME}"
        found = read_record(run, stage.NAME, key)
        if found is not None:
            say(f"{head}: finished earlier, skipped ({run.url(directory)})")
            records[stage.NAME] = found
            continue
        say(f"{head}: running → {run.url(directory)}")
        reporter.report(Progress(stage.NAME))
        started = time.monotonic()
        try:
            output = stage.run(StageContext(spec, name, run, directory, key, dict(records),
                                            feature_network, metrics_port, fault, say, trial))
        except (KeyboardInterrupt, SystemExit):
            # Ctrl-C; during Ray Train's fit() its own SIGINT handler aborts the workers and
            # ends with sys.exit(0).
            say(f"{head}: interrupted. {resume_point(run, stage.NAME, directory)}")
            raise
        except Exception as error:
            failure = stage_failure(stage.NAME, error)
            say(f"{head}: failed: {failure.reason}")
            reporter.report(failure)
            if summary is not None:
                write_summary(run, summary, experiment, records, failure)
            raise
        record = StageRecord(stage.NAME, key, inputs, output.results, output.outputs,
                             time.monotonic() - started)
        write_record(run, record)
        records[stage.NAME] = record
        say(f"{head}: finished in {record.seconds:.0f} s")
    reporter.report(final_progress(records))
    if summary is not None:
        write_summary(run, summary, experiment, records)
    return records


def resume_point(run: Location, stage: str, directory: str) -> str:
    """What re-running the same command does after an interruption in ``stage``."""
    again = ("Re-running the same command resumes: finished stages are skipped, and this one "
             "starts again")
    if stage != train.NAME or run.uri.startswith("s3://"):
        return f"{again} from its own checkpoints, if it saved any."
    latest = CheckpointStore(Path(run.path(f"{directory}/checkpoints")), keep=1).latest()
    if latest is None:
        return f"{again} from G step 0 (no checkpoint was saved yet)."
    return f"{again} from G step {latest.step} ({latest.path})."


def stage_failure(stage: str, error: Exception) -> Failure:
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Failure(stage, f"{type(error).__name__}: {error}", when)


def write_summary(run: Location, summary: str, experiment: Experiment,
                  records: dict[str, StageRecord], failure: Failure | None = None) -> None:
    """``run.json`` at ``summary``: the finished stages' records and, when one failed, the
    failure; the experiment goes beside it first, so a summary is never found without it."""
    overview = {"experiment": experiment.metadata.name, "method": experiment.spec.method.value,
                "stages": {n: {"key": r.key, "directory": r.directory, "results": r.results}
                           for n, r in records.items()}}
    if failure is not None:
        overview["failure"] = asdict(failure)
    run.write_whole(posixpath.join(posixpath.dirname(summary), EXPERIMENT),
                    experiment_yaml(experiment))
    write_json(run, summary, overview)


def experiment_yaml(experiment: Experiment) -> bytes:
    """The experiment as the pipeline resolved it (every default filled in), with its paths as
    written, so running the file again finds the same stage keys."""
    document = experiment.model_dump(mode="json", by_alias=True, exclude_none=True)
    return yaml.safe_dump(document, sort_keys=False).encode()


def final_progress(records: dict[str, StageRecord]) -> Progress:
    """What the experiment's status shows once every stage has finished."""
    scores = records["evaluate"].results if "evaluate" in records else {}
    steps = records["train"].results.get("steps") if "train" in records else None
    inception = scores.get("inceptionScore")
    return Progress("done", step=steps, fid=scores.get("fid"),
                    inception_score=inception if isinstance(inception, float) else None,
                    class_accuracy_score=scores.get("classAccuracyScore"),
                    intra_class_fid=scores.get("intraClassFid"))


def anchored(spec: ExperimentSpec, origin: str) -> ExperimentSpec:
    """``spec`` with relative local paths (dataset, Inception weights file) made absolute against
    ``origin``, the directory the user ran the command in: Ray Train and Tune run their workers
    in directories of their own."""
    def absolute(path: str | None) -> str | None:
        relative = path and "://" not in path and not os.path.isabs(path)
        found = relative and os.path.exists(os.path.join(origin, path))
        return os.path.abspath(os.path.join(origin, path)) if found else path

    dataset = spec.dataset.model_copy(update={"uri": absolute(spec.dataset.uri)})
    weights = absolute(spec.evaluation.inception_weights)
    evaluation = spec.evaluation.model_copy(update={"inception_weights": weights})
    return spec.model_copy(update={"dataset": dataset, "evaluation": evaluation})


def ray_temp_dir(run: Location) -> str:
    """Ray's temporary directory: ``<run dir>/.ray`` when the run is local and the path short
    enough for Ray's sockets, else a short directory in /tmp named after the run."""
    if not run.uri.startswith("s3://"):
        inside = os.path.join(run.root, ".ray")
        if len(inside) <= RAY_TEMP_MAX:
            return inside
    return f"/tmp/s3gan-ray-{hashlib.sha1(run.uri.encode()).hexdigest()[:10]}"


def execute(experiment: Experiment, run_dir: str | None = None, address: str | None = None,
            num_cpus: int | None = None, metrics_port: int | None = None) -> int:
    """Connect to Ray (``address``) or start an embedded one on 127.0.0.1, run the pipeline,
    print where everything is. Returns the process exit status."""
    run = run_location(experiment, run_dir)
    ray_session.connect(ray_temp_dir(run), address, num_cpus)
    try:
        records = run_pipeline(experiment, run, metrics_port=metrics_port)
    except (KeyboardInterrupt, SystemExit):
        return INTERRUPTED  # run_pipeline said where re-running resumes
    finally:
        ray.shutdown()
    _report(experiment.spec, run, records)
    return 0


def _report(spec: ExperimentSpec, run: Location, records: dict[str, StageRecord]) -> None:
    print(f"run directory: {run.uri}")
    if train.NAME in records:
        directory = records[train.NAME].directory
        steps = records[train.NAME].results["steps"]
        print(f"samples: {run.url(f'{directory}/{grid_name(steps)}')}")
        print(f"metrics: {run.url(f'{directory}/{METRICS}')}")
    if evaluate.NAME in records:
        scores = records[evaluate.NAME].results
        print(f"curves: {run.url(f'{records[evaluate.NAME].directory}/{CURVES}')}")
        real = spec.evaluation.real_samples or f"all {spec.dataset.eval_split}"
        print(f"FID {scores['fid']:.2f}: {scores['sets']} set(s) of {scores['samplesPerSet']} "
              f"generated samples against {real} real images ({scores['network']})")
        print(evaluate.describe_class_accuracy(scores))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m s3gan_workers.pipeline",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", required=True, metavar="FILE",
                        help="S3GANExperiment YAML file")
    add_run_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    experiment = read_experiment(args.experiment)
    if experiment is None:
        return USAGE_ERROR
    if experiment.spec.sweep is not None:
        from s3gan_workers.sweep import execute_sweep
        from s3gan_workers.sweep_grid import plan_trials

        sweep = experiment.spec.sweep
        try:
            trials = plan_trials(experiment.spec, dict(sweep.grid), sweep.seeds)
        except SpecError as e:
            print(e, file=sys.stderr)
            return USAGE_ERROR
        return execute_sweep(experiment, trials, sweep.scheduler, args.run_dir, args.address,
                             args.num_cpus, args.metrics_port)
    return execute(experiment, args.run_dir, args.address, args.num_cpus, args.metrics_port)


if __name__ == "__main__":
    sys.exit(main())
