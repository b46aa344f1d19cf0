"""The pretraining SGD schedule of paper section 4."""

import pytest
import torch
from torch import nn

from s3gan.pretrain.schedule import (
    build_optimizer,
    learning_rate_factor,
    peak_learning_rate,
    total_steps,
)
from s3gan.spec.model import Pretraining

PAPER = Pretraining()


def test_paper_peak_rate_uses_the_unlabelled_count():
    assert peak_learning_rate(PAPER, PAPER.unlabelled_per_batch) == pytest.approx(0.6)
    assert peak_learning_rate(PAPER, PAPER.batch_size) == pytest.approx(0.8)


def test_warmup_then_divide_by_ten_at_45_and_55_as_the_optimizer_sees_it():
    steps_per_epoch = 3
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    optimizer, schedule = build_optimizer(model, PAPER, 1536, steps_per_epoch)
    rates = []
    for _ in range(total_steps(PAPER, steps_per_epoch)):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    warmup = 5 * steps_per_epoch
    assert rates[0] == pytest.approx(0.6 / warmup)
    assert rates[warmup // 2] == pytest.approx(0.6 * (warmup // 2 + 1) / warmup)
    assert rates[warmup - 1] == pytest.approx(0.6)
    assert rates[45 * steps_per_epoch - 1] == pytest.approx(0.6)
    assert rates[45 * steps_per_epoch] == pytest.approx(0.06)
    assert rates[55 * steps_per_epoch - 1] == pytest.approx(0.06)
    assert rates[55 * steps_per_epoch] == pytest.approx(0.006)
    assert rates[-1] == pytest.approx(0.006)
    assert all(g["momentum"] == 0.9 for g in optimizer.param_groups)


def test_no_warmup_starts_at_the_peak():
    factor = learning_rate_factor(Pretraining(warmup_epochs=0, decay_epochs=(2,), epochs=3), 10)
    assert [factor(s) for s in (0, 19, 20, 29)] == pytest.approx([1.0, 1.0, 0.1, 0.1])


def test_weight_decay_only_on_kernels():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Linear(4, 2))
    optimizer, _ = build_optimizer(model, PAPER, 256, 1)
    decayed, plain = optimizer.param_groups
    assert decayed["weight_decay"] == 1e-4 and plain["weight_decay"] == 0.0
    assert {id(p) for p in decayed["params"]} == {id(model[0].weight), id(model[2].weight)}
    assert len(plain["params"]) == 4  # conv bias, BN scale and shift, linear bias
    assert sum(p.numel() for g in optimizer.param_groups for p in g["params"]) == sum(
        p.numel() for p in model.parameters())


def test_rejects_empty_epochs():
    with pytest.raises(ValueError, match="steps_per_epoch"):
        learning_rate_factor(PAPER, 0)


def test_the_schedule_is_torchs_lambda_lr():
    _, schedule = build_optimizer(nn.Linear(2, 2), PAPER, 256, 1)
    assert isinstance(schedule, torch.optim.lr_scheduler.LambdaLR)


def test_fractional_epochs_count_steps_and_place_warmup_and_decay_in_steps():
    # A tenth of an epoch of 1,000 steps, 2 of them warm-up, ÷10 after 80: data too large to
    # pass over still gets the paper's schedule shape.
    p = Pretraining(epochs=0.1, warmup_epochs=0.002, decay_epochs=(0.08,))
    assert total_steps(p, 1_000) == 100
    factor = learning_rate_factor(p, 1_000)
    assert [factor(s) for s in (0, 1, 79, 80, 99)] == pytest.approx([0.5, 1.0, 1.0, 0.1, 0.1])
    assert total_steps(Pretraining(epochs=1e-6, warmup_epochs=0, decay_epochs=()), 10) == 1
    assert total_steps(PAPER, 3) == 195
