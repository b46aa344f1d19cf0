"""The linear probe separates linearly separable classes and ignores constant features."""

import torch

from s3gan.pretrain.linear_probe import fit_linear_probe


def test_probe_learns_separable_classes_and_scores_held_out_points():
    generator = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 8, generator=generator) * 4
    labels = torch.randint(4, (400,), generator=generator)
    points = centres[labels] + torch.randn(400, 8, generator=generator)
    points[:, 3] = 7.0  # a constant feature: no variance to standardise by
    probe = fit_linear_probe(points[:300], labels[:300], num_classes=4)
    assert probe.accuracy(points[300:], labels[300:]) > 0.95
    assert torch.isfinite(probe.weight).all()


def test_probe_is_at_chance_on_random_labels():
    generator = torch.Generator().manual_seed(1)
    points = torch.randn(600, 16, generator=generator)
    labels = torch.randint(5, (600,), generator=generator)
    probe = fit_linear_probe(points[:300], labels[:300], num_classes=5)
    assert probe.accuracy(points[300:], labels[300:]) < 0.35
