"""What a run directory holds besides its stages: the experiment beside the run's summary, read
back by the report, and the sweep trial's name handed to every stage (no Ray needed: the stage
here records what the runner gives it)."""

from __future__ import annotations

import json

import yaml
from s3gan_workers import pipeline
from s3gan_workers.stages.context import StageContext, StageOutput
from s3gan_workers.status import StatusReporter

from s3gan.data.storage import open_location
from s3gan.report.collect import read_source
from s3gan.spec import parse_experiment
from s3gan.spec.model import ExperimentSpec
from tests.workers.pipeline_fixtures import TinyNetwork, tiny_experiment


class RecordingStage:
    """A stage that only remembers the context the runner handed it."""

    NAME = "train"
    INPUTS = ()

    def __init__(self):
        self.contexts: list[StageContext] = []

    def depends_on(self, spec: ExperimentSpec) -> dict:
        return {"training": spec.training}

    def run(self, context: StageContext) -> StageOutput:
        self.contexts.append(context)
        return StageOutput({"steps": context.spec.training.steps})


def _run(experiment, run_dir, **options) -> RecordingStage:
    stage = RecordingStage()
    pipeline.run_pipeline(experiment, open_location(str(run_dir)), TinyNetwork(),
                          say=lambda line: None, stages=(stage,), reporter=StatusReporter(None),
                          **options)
    return stage


def test_the_run_stores_the_experiment_it_ran_beside_its_summary(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dataset").mkdir()  # a relative path the runner anchors for its stages
    experiment = tiny_experiment("stored", "s3gan", "dataset")
    stage = _run(experiment, tmp_path / "run")
    assert stage.contexts[0].spec.dataset.uri == str(tmp_path / "dataset")
    stored = yaml.safe_load((tmp_path / "run" / pipeline.EXPERIMENT).read_text())
    assert parse_experiment(stored) == experiment
    # Resolved: defaults are written out; paths stay as written, so the stage keys stay too.
    assert stored["spec"]["training"]["dSteps"] == experiment.spec.training.d_steps
    assert stored["spec"]["dataset"]["uri"] == "dataset"
    summary = json.loads((tmp_path / "run" / pipeline.SUMMARY).read_text())
    assert summary["experiment"] == "stored"
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "experiment.yaml", "run.json", "stages"]


def test_the_report_of_a_run_directory_finds_its_experiment_without_being_told(tmp_path):
    experiment = tiny_experiment("reported", "s3gan", "unused")
    _run(experiment, tmp_path)
    (trial,) = read_source(open_location(str(tmp_path))).trials
    assert trial.spec == experiment.spec and trial.fraction == 0.1
    given = tiny_experiment("reported", "s3gan", "elsewhere").spec
    (trial,) = read_source(open_location(str(tmp_path)), given).trials
    assert trial.spec == given


def test_the_sweep_trial_name_reaches_every_stage_and_its_metric_labels(tmp_path):
    experiment = tiny_experiment("swept", "biggan", "unused")
    stage = _run(experiment, tmp_path / "trial", trial="method=biggan,seed=1")
    (context,) = stage.contexts
    assert context.trial == "method=biggan,seed=1"
    assert context.run_labels == {"experiment": "swept", "trial": "method=biggan,seed=1"}
    (alone,) = _run(experiment, tmp_path / "single").contexts
    assert alone.run_labels == {"experiment": "swept", "trial": ""}
