"""The sweep trial's name in the train and evaluate stages' metric labels, without Ray: rank 0's
duties (``Chief``) given the run labels the train stage hands its job, and the scores'
export the evaluate stage and rank 0's FID points share."""

from __future__ import annotations

from dataclasses import replace

import pytest
from s3gan_workers.stages import evaluate
from s3gan_workers.stages.chief import Chief
from s3gan_workers.stages.context import StageContext
from s3gan_workers.status import NAME_VARIABLE

from s3gan.data.storage import open_location
from s3gan.eval.evaluate import Scores
from s3gan.eval.inception_weights import weights_label
from s3gan.eval.intra_fid import IntraClassFid
from s3gan.methods import build_method
from s3gan.monitor.exporter import Exporter
from s3gan.train.checkpoint import CheckpointStore
from s3gan.train.retention import Retention
from s3gan.train.trainer import Trainer
from tests.workers.pipeline_fixtures import TinyNetwork, tiny_experiment

TRIAL = "method=biggan,seed=1"


@pytest.fixture
def context(tmp_path) -> StageContext:
    experiment = tiny_experiment("swept", "biggan", "unused")
    return StageContext(experiment.spec, "swept", open_location(str(tmp_path / "run")),
                        "stages/train/k", "k", {}, TinyNetwork(), trial=TRIAL)


def test_rank_0_exports_training_under_the_trial(context, tmp_path, monkeypatch):
    monkeypatch.delenv(NAME_VARIABLE, raising=False)  # no status reports from a test
    spec = context.spec
    trainer = Trainer(spec, build_method(spec, None), iter(()), "cpu")
    store = CheckpointStore(tmp_path / "checkpoints", keep=2)
    job = {"run_labels": context.run_labels, "directory": context.directory,
           "metrics_port": None}
    chief = Chief(spec, job, context.run, trainer, store, Retention(store.root), 1)
    chief.stepped({"d_hinge": 1.0, "g_adversarial": 0.5}, seconds=0.1, at_point=False)
    chief.close()
    registry = chief.exporter.registry
    labels = {"experiment": "swept", "trial": TRIAL}
    assert registry.get_sample_value("s3gan_training_step", labels) == trainer.step
    assert registry.get_sample_value("s3gan_spectral_norm_max",
                                     {**labels, "network": "generator"}) > 0
    assert registry.get_sample_value("s3gan_training_step",
                                     {"experiment": "swept", "trial": ""}) is None


def test_scores_are_exported_under_the_trial(context):
    exporter = Exporter()
    scores = Scores("tiny", 16, (41.5, 42.5), (3.0, 5.0))
    evaluate.export_scores(exporter, context.spec, context.run_labels, scores)
    labels = {"experiment": "swept", "trial": TRIAL,
              "weights": weights_label(context.spec.evaluation.inception_weights)}
    assert exporter.registry.get_sample_value("s3gan_fid", labels) == 42.0
    assert exporter.registry.get_sample_value("s3gan_inception_score", labels) == 4.0
    assert exporter.registry.get_sample_value("s3gan_intra_class_fid", labels) is None
    measured = replace(scores, intra_class_fid=IntraClassFid((100.0, 140.0), (51, 60), (70, 80)))
    evaluate.export_scores(exporter, context.spec, context.run_labels, measured)
    assert exporter.registry.get_sample_value("s3gan_intra_class_fid", labels) == 120.0


def test_the_summary_line_gives_the_intra_class_fid_with_its_counts_or_why_not():
    record = {"intraClassFid": 181.204, "intraClassFidGeneratedPerClass": [93, 88],
              "intraClassFidRealPerClass": [97, 103]}
    assert evaluate.describe_intra_class_fid(record).startswith(
        "intra-class FID 181.20 (≥ 88 generated, ≥ 97 real images per class; biased upward")
    missing = {"intraClassFidNotMeasured": "set 1: class 3 has 41 generated images, fewer than 50"}
    assert evaluate.describe_intra_class_fid(missing) == (
        "intra-class FID not measured: set 1: class 3 has 41 generated images, fewer than 50")
