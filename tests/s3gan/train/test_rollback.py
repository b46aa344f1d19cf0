"""Rollback on collapse: a forced collapse (D's learning rate × 1000) on a tiny run is detected,
the last known-good checkpoint restored with lower learning rates, and the limit enforced."""

from __future__ import annotations

import logging

import pytest
import torch

from s3gan.methods import build_method
from s3gan.monitor.collapse import FID_JUMP, SPECTRAL_NORM_GROWTH
from s3gan.monitor.exporter import Exporter
from s3gan.spec import parse_experiment
from s3gan.train.checkpoint import CheckpointStore, load
from s3gan.train.retention import Retention
from s3gan.train.rollback import CollapseError, CollapseGuard, read_rollbacks
from s3gan.train.trainer import Trainer
from tests.fixtures.tiny_networks import tiny_biggan_experiment

RUN = {"experiment": "tiny", "trial": ""}


def _spec(**collapse):
    return parse_experiment(tiny_biggan_experiment(4, model={"attention": False},
                                                   training={"collapse": collapse})).spec


@pytest.fixture
def run(tmp_path, real_batches):
    def make(**collapse):
        spec = _spec(**collapse)
        trainer = Trainer(spec, build_method(spec), real_batches(), "cpu")
        retention = Retention(tmp_path)
        store = CheckpointStore(tmp_path, keep=1, protected=retention.protected)
        exporter = Exporter()
        return trainer, store, CollapseGuard(trainer, store, retention, exporter=exporter,
                                             run_labels=RUN), exporter
    return make


def _train(trainer, guard, steps: int) -> list:
    return [guard.after_step(trainer.train_step()) for _ in range(steps)]


def _force_collapse(trainer) -> None:
    for group in trainer.gan_step.d_optimizer.param_groups:
        group["lr"] *= 1000


def _learning_rates(trainer) -> tuple[float, float]:
    return (trainer.gan_step.g_optimizer.param_groups[0]["lr"],
            trainer.gan_step.d_optimizer.param_groups[0]["lr"])


def test_a_forced_collapse_is_detected_and_rolled_back(run, tmp_path, caplog):
    trainer, store, guard, exporter = run(rollback=True, maxRollbacks=1, learningRateFactor=0.5)
    assert _train(trainer, guard, 3) == [None, None, None]
    store.save(trainer.step, trainer.state_dict())
    guard.after_checkpoint(trainer.step)
    good = load(tmp_path / "step-000000003")
    consumed = trainer.batches_consumed

    _force_collapse(trainer)
    with caplog.at_level(logging.WARNING, logger="s3gan.train.rollback"):
        (detection,) = _train(trainer, guard, 1)
    assert SPECTRAL_NORM_GROWTH in detection.reasons and detection.step == 4
    assert trainer.step == 3
    for name, value in trainer.generator.state_dict().items():
        assert torch.equal(value, good["generator"][name]), name
    for name, value in trainer.discriminator.state_dict().items():
        assert torch.equal(value, good["discriminator"][name]), name
    assert trainer.batches_consumed == consumed + trainer.gan_step.batches_per_step
    spec = trainer.spec.training
    assert _learning_rates(trainer) == (spec.g_learning_rate * 0.5, spec.d_learning_rate * 0.5)
    (record,) = read_rollbacks(tmp_path)
    assert (record.detected_at, record.restored_step) == (4, 3)
    assert "rollback 1 of 1: restored" in caplog.text and "collapse at G step 4" in caplog.text
    sample = exporter.registry.get_sample_value
    assert sample("s3gan_rollbacks_total", RUN) == 1.0
    assert sample("s3gan_collapse_detections_total",
                  {**RUN, "reason": SPECTRAL_NORM_GROWTH}) == 1.0
    assert sample("s3gan_collapse", RUN) == 0.0

    assert _train(trainer, guard, 2) == [None, None]  # training goes on, healthy
    _force_collapse(trainer)
    with pytest.raises(CollapseError, match=r"1 rollbacks already made \(training\.collapse\."
                                            r"maxRollbacks = 1\).*step-000000003"):
        _train(trainer, guard, 1)


def test_with_rollback_off_collapse_is_reported_and_training_untouched(run, tmp_path):
    trainer, store, guard, exporter = run()
    _train(trainer, guard, 2)
    _force_collapse(trainer)
    (detection,) = _train(trainer, guard, 1)
    assert detection is not None and trainer.step == 3
    assert read_rollbacks(tmp_path) == []
    assert exporter.registry.get_sample_value("s3gan_collapse", RUN) == 1.0
    store.save(trainer.step, trainer.state_dict())
    guard.after_checkpoint(trainer.step)
    assert Retention(tmp_path).last_good is None  # saved while collapsed: not known-good


def test_collapse_without_a_known_good_checkpoint_stops_with_a_clear_error(run):
    trainer, _, guard, _ = run(rollback=True)
    _train(trainer, guard, 1)
    _force_collapse(trainer)
    with pytest.raises(CollapseError, match="no known-good checkpoint"):
        _train(trainer, guard, 1)


def test_an_fid_jump_rolls_back_and_the_best_fid_checkpoint_is_recorded(run, tmp_path):
    trainer, store, guard, _ = run(rollback=True)
    _train(trainer, guard, 2)
    store.save(trainer.step, trainer.state_dict())
    guard.after_checkpoint(2)
    assert guard.after_evaluation(2, 40.0) is None
    _train(trainer, guard, 1)
    store.save(trainer.step, trainer.state_dict())
    guard.after_checkpoint(3)
    detection = guard.after_evaluation(3, 95.0)
    assert list(detection.reasons) == [FID_JUMP]
    assert trainer.step == 2  # checkpoint 3 broke: back to the best-FID one, not the newest
    assert read_rollbacks(tmp_path)[0].restored_step == 2
    assert [c.step for c in store.checkpoints()] == [2]  # a restart cannot resume step 3
    assert Retention(tmp_path).best_fid.step == Retention(tmp_path).last_good == 2
