"""Each loss against the same quantity worked out by hand with plain Python numbers."""

import math

import pytest
import torch

from s3gan.losses import (
    discriminator_hinge,
    fake_rotation_loss,
    generator_hinge,
    labelled_class_loss,
    real_rotation_loss,
    weighted_mean,
)


def test_discriminator_hinge_by_hand():
    real = torch.tensor([2.0, 0.5, -1.0])
    fake = torch.tensor([-3.0, 0.0, 0.25, 1.0])
    # max(0, 1 - d) on reals: 0, 0.5, 2; max(0, 1 + d) on fakes: 0, 1, 1.25, 2.
    expected = (0 + 0.5 + 2) / 3 + (0 + 1 + 1.25 + 2) / 4
    assert discriminator_hinge(real, fake).item() == pytest.approx(expected)


def test_discriminator_hinge_with_masks_averages_only_the_selected_examples():
    real = torch.tensor([2.0, 0.5, -1.0])
    fake = torch.tensor([-3.0, 0.0, 0.25, 1.0])
    real_mask = torch.tensor([False, True, True])
    fake_mask = torch.tensor([True, False, False, True])
    expected = (0.5 + 2) / 2 + (0 + 2) / 2
    assert discriminator_hinge(real, fake, real_mask, fake_mask).item() == pytest.approx(expected)


def test_weights_divide_by_the_number_of_non_zero_weights():
    values = torch.tensor([1.0, 2.0, 3.0, 4.0])
    weights = torch.tensor([0.5, 0.0, 2.0, 0.0])
    assert weighted_mean(values, weights).item() == pytest.approx((0.5 * 1 + 2 * 3) / 2)
    assert weighted_mean(values, torch.zeros(4)).item() == 0.0


def test_generator_hinge_by_hand():
    fake = torch.tensor([-3.0, 0.0, 0.25, 1.0])
    assert generator_hinge(fake).item() == pytest.approx(-(-3 + 0 + 0.25 + 1) / 4)
    mask = torch.tensor([True, False, False, True])
    assert generator_hinge(fake, mask).item() == pytest.approx(-(-3 + 1) / 2)


def _log_softmax(row, k):
    return row[k] - math.log(sum(math.exp(v) for v in row))


def test_labelled_class_loss_by_hand_sees_only_labelled_rows():
    rows = [[1.0, 0.0, -1.0], [0.0, 2.0, 0.0], [3.0, 3.0, 3.0]]
    logits = torch.tensor(rows)
    labels = torch.tensor([2, -1, 0])
    labelled = torch.tensor([True, False, True])
    expected = -0.4 * (_log_softmax(rows[0], 2) + _log_softmax(rows[2], 0)) / 2
    assert labelled_class_loss(logits, labels, labelled, 0.4).item() == pytest.approx(expected)
    changed = torch.tensor([2, 1, 0])  # the unlabelled row's label changes: no effect
    assert labelled_class_loss(logits, changed, labelled, 0.4).item() == pytest.approx(expected)


def test_labelled_class_loss_is_zero_without_labelled_rows():
    nobody = torch.zeros(3, dtype=torch.bool)
    loss = labelled_class_loss(torch.randn(3, 4), torch.full((3,), -1), nobody, 0.2)
    assert loss.item() == 0.0


def test_labelled_class_loss_refuses_a_labelled_row_without_a_label():
    with pytest.raises(ValueError, match="labelled image has no class label"):
        everyone = torch.tensor([True, True])
        labelled_class_loss(torch.randn(2, 3), torch.tensor([-1, 1]), everyone, 0.2)


def test_rotation_losses_eq4_eq5_by_hand():
    rows = [[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 2.0, 0.0], [0.0, 0.0, 0.0, 5.0]]
    logits = torch.tensor(rows)
    labels = torch.tensor([0, 1, 2, 3])
    probabilities = [math.exp(_log_softmax(r, k)) for k, r in enumerate(rows)]
    cross_entropy = -sum(math.log(p + 1e-10) for p in probabilities) / 4
    assert real_rotation_loss(logits, labels, 0.5).item() == pytest.approx(0.5 * cross_entropy)
    assert fake_rotation_loss(logits, labels, 0.2).item() == pytest.approx(0.2 * cross_entropy)


def test_bf16_logits_are_averaged_in_float32():
    logits = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.bfloat16)
    loss = generator_hinge(logits)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(-sum(float(v) for v in logits) / 4, rel=1e-6)
