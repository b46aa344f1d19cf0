"""A stage that raises, without Ray: the run directory records the failure (and no completion
record for the stage), the experiment's status says which stage failed and why (kmock's
Kubernetes API, the operator's keys untouched), the error goes on up, and running again
resumes after the stages that had finished."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
from pathlib import Path

import pytest
from kubernetes import config
from s3gan_workers import pipeline
from s3gan_workers.run_record import read_record, stage_dir, stage_key
from s3gan_workers.stages.context import StageContext, StageOutput
from s3gan_workers.status import REASON_LIMIT, Failure, StatusReporter

from s3gan.data.storage import open_location
from s3gan.spec.model import ExperimentSpec
from s3gan.train.checkpoint import CheckpointStore
from s3gan.train.rollback import CollapseError
from tests.fixtures.kubernetes_api import fetch, send
from tests.workers.pipeline_fixtures import TinyNetwork, tiny_experiment

NAMESPACE = "research"
EXPERIMENT = f"/apis/s3gan.io/v1alpha1/namespaces/{NAMESPACE}/s3ganexperiments/fails"
REASON = "collapse past maxRollbacks: D's hinge loss stayed at 0 for 200 steps"


class Stage:
    """A stage that finishes, or raises ``error`` when given one; counts its runs."""

    INPUTS = ()

    def __init__(self, name: str, error: Exception | None = None):
        self.NAME, self.error, self.runs = name, error, 0

    def depends_on(self, spec: ExperimentSpec) -> dict:
        return {"training": spec.training}

    def run(self, context: StageContext) -> StageOutput:
        self.runs += 1
        if self.error is not None:
            raise self.error
        return StageOutput({"done": True})


async def _experiment_in_cluster(kmock) -> StatusReporter:
    body = {"apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
            "metadata": {"name": "fails", "namespace": NAMESPACE},
            "spec": {"dataset": {"uri": "unused"}},
            "status": {"phase": "Running", "message": "RayJob fails is running"}}
    await send(kmock, "POST", EXPERIMENT.rsplit("/", 1)[0], body)
    api = config.new_client_from_config(config_file=os.environ["KUBECONFIG"])
    return StatusReporter(api, "fails", NAMESPACE)


async def test_a_failing_stage_is_recorded_reported_and_raised(kubernetes_api, tmp_path):
    reporter = await _experiment_in_cluster(kubernetes_api)
    experiment = tiny_experiment("fails", "biggan", "unused")
    run = open_location(str(tmp_path / "run"))
    labels, train = Stage("labels"), Stage("train", CollapseError(REASON))
    lines: list[str] = []

    def run_stages(*stages):
        return pipeline.run_pipeline(experiment, run, TinyNetwork(), say=lines.append,
                                     stages=stages, reporter=reporter)

    with pytest.raises(CollapseError, match="maxRollbacks"):
        await asyncio.to_thread(run_stages, labels, train)

    summary = json.loads(run.read_bytes(pipeline.SUMMARY))
    assert list(summary["stages"]) == ["labels"]
    failure = summary["failure"]
    assert (failure["stage"], failure["reason"]) == ("train", f"CollapseError: {REASON}")
    failed_at = datetime.datetime.fromisoformat(failure["time"])
    assert abs(datetime.datetime.now(datetime.UTC) - failed_at) < datetime.timedelta(minutes=5)
    assert run.exists(pipeline.EXPERIMENT)
    key = stage_key("train", {**train.depends_on(experiment.spec), "inputs": {}})
    assert read_record(run, "train", key) is None
    assert not run.exists(f"{stage_dir('train', key)}/record.json")
    assert lines[-1] == f"[2/2] train: failed: CollapseError: {REASON}"

    status = (await fetch(kubernetes_api, EXPERIMENT))["status"]
    assert status["lastFailure"] == failure
    assert status["stage"] == "train"
    # The operator's keys: the phase follows the RayJob, which fails when the process exits.
    assert (status["phase"], status["message"]) == ("Running", "RayJob fails is running")

    fixed = Stage("train")
    await asyncio.to_thread(run_stages, labels, fixed)
    assert (labels.runs, fixed.runs) == (1, 1)  # labels resumed from its record
    summary = json.loads(run.read_bytes(pipeline.SUMMARY))
    assert list(summary["stages"]) == ["labels", "train"] and "failure" not in summary


def test_a_long_reason_keeps_its_end_in_the_status():
    ray_text = "ray::_evaluate() (pid=7)\n" + "  File ...\n" * 500 + "ValueError: no images"
    status = Failure("evaluate", ray_text, "2026-01-01T00:00:00Z").as_status()["lastFailure"]
    assert len(status["reason"]) == REASON_LIMIT
    assert status["reason"].startswith("…") and status["reason"].endswith("ValueError: no images")
    short = Failure("train", "CollapseError: x", "2026-01-01T00:00:00Z").as_status()
    assert short["lastFailure"]["reason"] == "CollapseError: x"
    with pytest.raises(ValueError, match="status.lastFailure.stage"):
        Failure("training", "x", "2026-01-01T00:00:00Z")


class InterruptedTrain(Stage):
    """A train stage that saved a checkpoint at G step 3, then met Ctrl-C."""

    def __init__(self):
        super().__init__("train", SystemExit(0))  # how Ray Train's SIGINT handler ends fit()

    def run(self, context: StageContext) -> StageOutput:
        store = CheckpointStore(Path(context.run.path(f"{context.directory}/checkpoints")), 2)
        store.save(3, {"progress": {"batches_consumed": 3}})
        return super().run(context)


def test_ctrl_c_says_that_re_running_resumes_and_from_which_step(tmp_path):
    experiment = tiny_experiment("interrupted", "biggan", "unused")
    run = open_location(str(tmp_path / "run"))
    lines: list[str] = []
    with pytest.raises(SystemExit):
        pipeline.run_pipeline(experiment, run, TinyNetwork(), say=lines.append,
                              stages=(Stage("labels"), InterruptedTrain()),
                              reporter=StatusReporter(None, "", ""))
    assert lines[-1].startswith("[2/2] train: interrupted. Re-running the same command resumes: "
                                "finished stages are skipped, and this one starts again from "
                                "G step 3 (")
    lines.clear()
    with pytest.raises(KeyboardInterrupt):
        pipeline.run_pipeline(experiment, run, TinyNetwork(), say=lines.append,
                              stages=(Stage("labels"), Stage("pretrain", KeyboardInterrupt())),
                              reporter=StatusReporter(None, "", ""))
    assert "labels: finished earlier, skipped" in lines[0]
    assert lines[-1].endswith("starts again from its own checkpoints, if it saved any.")
