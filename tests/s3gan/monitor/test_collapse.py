"""The collapse detector on scripted signals, σ0 against an exact SVD, and what it exports."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from s3gan.monitor.catalogue import LABELS
from s3gan.monitor.collapse import (
    D_LOSS_COLLAPSE,
    FID_JUMP,
    REASONS,
    SPECTRAL_NORM_GROWTH,
    CollapseDetector,
    CollapseThresholds,
    largest_singular_value,
    publish,
)
from s3gan.monitor.exporter import Exporter

RUN = {"experiment": "e", "trial": ""}


def _healthy(detector: CollapseDetector, steps: int, start: int = 1) -> list:
    """Losses wobbling around their healthy levels, σ0 creeping up 0.2% a step."""
    found = []
    for step in range(start, start + steps):
        wobble = math.sin(step)
        sigma = {"generator": 1.0 * 1.002**step, "discriminator": 2.0 * 1.002**step}
        found.append(detector.observe_step(step, 1.0 + 0.3 * wobble, 0.5 - 0.3 * wobble, sigma))
    return [d for d in found if d is not None]


def test_a_healthy_run_raises_nothing():
    detector = CollapseDetector()
    assert _healthy(detector, 300) == []
    for step, fid in enumerate((80.0, 60.0, 45.0, 47.0, 40.0, 52.0), start=1):
        assert detector.observe_fid(step * 1000, fid) is None
    assert not detector.collapsed


def test_d_loss_to_zero_while_g_loss_rises_is_flagged_after_the_patience():
    t = CollapseThresholds()
    detector = CollapseDetector(t)
    _healthy(detector, 40)
    verdicts = [detector.observe_step(40 + i, 0.01, 2.0 + i, {}) for i in range(1, 8)]
    first = next(i for i, v in enumerate(verdicts) if v is not None)
    assert first == t.d_loss_patience - 1  # the patience-th low step, not earlier
    detection = verdicts[first]
    assert list(detection.reasons) == [D_LOSS_COLLAPSE] and detector.collapsed
    assert "G step 45" in str(detection) and "rose from" in str(detection)


def test_d_loss_near_zero_with_a_flat_g_loss_is_not_collapse():
    detector = CollapseDetector()
    for step in range(1, 60):
        assert detector.observe_step(step, 0.01, 0.5, {}) is None


def test_a_sharp_growth_of_sigma_names_the_network():
    detector = CollapseDetector()
    detector.baseline({"generator": 1.0, "discriminator": 1.9})
    assert detector.observe_step(1, 1.0, 0.5, {"generator": 1.0, "discriminator": 2.5}) is None
    detection = detector.observe_step(2, 1.0, 0.5, {"generator": 1.01, "discriminator": 19.9})
    assert list(detection.reasons) == [SPECTRAL_NORM_GROWTH]
    assert "discriminator σ0 19.9" in detection.reasons[SPECTRAL_NORM_GROWTH]
    assert "generator" not in detection.reasons[SPECTRAL_NORM_GROWTH]


def test_fid_jumps_need_both_the_ratio_and_the_margin():
    detector = CollapseDetector()
    assert detector.observe_fid(1, 2.0) is None
    assert detector.observe_fid(2, 3.5) is None  # 1.75× the best, but only 1.5 points
    assert detector.observe_fid(3, 20.0).reasons.keys() == {FID_JUMP}
    detector.reset()
    assert detector.observe_fid(4, 30.0) is None and not detector.collapsed


def test_thresholds_that_cannot_work_are_refused():
    with pytest.raises(ValueError, match="d_loss_patience"):
        CollapseThresholds(d_loss_patience=60, window=50)
    with pytest.raises(ValueError, match="sigma_growth"):
        CollapseThresholds(sigma_growth=1.0)


def test_sigma_is_read_off_the_spectral_norm_vectors_and_matches_the_svd():
    torch.manual_seed(0)
    conv = spectral_norm(nn.Conv2d(3, 8, 3))
    linear = nn.Linear(5, 7)
    network = nn.Sequential(conv, nn.Flatten(), linear)
    with torch.no_grad():
        conv.parametrizations.weight.original.mul_(4.0)
        for _ in range(50):  # training-mode forwards run the layer's power iteration
            conv(torch.zeros(1, 3, 3, 3))
        exact_conv = torch.linalg.matrix_norm(
            conv.parametrizations.weight.original.flatten(1), 2)
        exact_linear = torch.linalg.matrix_norm(linear.weight, 2)
    assert float(exact_conv) > float(exact_linear)
    assert largest_singular_value(network) == pytest.approx(float(exact_conv), rel=1e-4)
    # Without spectral norm: power iteration, from below.
    assert largest_singular_value(nn.Sequential(linear)) == pytest.approx(float(exact_linear),
                                                                          rel=1e-3)


def test_publish_sets_the_gauge_and_counts_each_reason():
    exporter = Exporter()
    detector = CollapseDetector()
    detector.baseline({"discriminator": 1.0})
    publish(exporter, detector.observe_step(1, 1.0, 0.5, {"discriminator": 1.0}), **RUN)
    assert exporter.registry.get_sample_value("s3gan_collapse", RUN) == 0.0
    publish(exporter, detector.observe_step(2, 1.0, 0.5, {"discriminator": 5.0}), **RUN)
    sample = exporter.registry.get_sample_value
    assert sample("s3gan_collapse", RUN) == 1.0
    assert sample("s3gan_collapse_detections_total",
                  {**RUN, "reason": SPECTRAL_NORM_GROWTH}) == 1.0
    assert sample("s3gan_collapse_detections_total", {**RUN, "reason": FID_JUMP}) is None


def test_the_reasons_are_the_ones_the_catalogue_declares():
    assert set(REASONS) == set(LABELS["reason"].split(", "))
