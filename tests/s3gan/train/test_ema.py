"""EMA of G: a copy before the start step, θ ← d·θ + (1 − d)·θ_G after it, buffers copied."""

from __future__ import annotations

import torch
from torch import nn

from s3gan.spec.model import Ema
from s3gan.train.ema import GeneratorEma


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))


def _perturb(net: nn.Module, value: float) -> None:
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(value)
        net[1].running_mean.fill_(value)


def test_copies_before_the_start_step_then_averages():
    g = _net()
    ema = GeneratorEma(g, Ema(decay=0.9, start_step=3))
    _perturb(g, 1.0)
    ema.update(g, step=1)
    assert torch.equal(ema.module[0].weight, torch.ones(3, 3))
    _perturb(g, 2.0)
    ema.update(g, step=2)
    assert torch.equal(ema.module[0].weight, torch.full((3, 3), 2.0))
    # From the start step on: 0.9·2 + 0.1·12 = 3.0, and buffers follow G exactly.
    _perturb(g, 12.0)
    ema.update(g, step=3)
    torch.testing.assert_close(ema.module[0].weight, torch.full((3, 3), 3.0))
    ema.update(g, step=4)
    torch.testing.assert_close(ema.module[0].weight, torch.full((3, 3), 3.9))
    assert torch.equal(ema.module[1].running_mean, torch.full((3,), 12.0))


def test_state_round_trips_and_never_takes_gradients():
    g = _net()
    ema = GeneratorEma(g, Ema(decay=0.5, start_step=0))
    _perturb(g, 4.0)
    ema.update(g, step=1)
    ema.update(g, step=2)
    other = GeneratorEma(_net(), Ema(decay=0.5, start_step=0))
    other.load_state_dict(ema.state_dict())
    for a, b in zip(other.module.parameters(), ema.module.parameters(), strict=True):
        assert torch.equal(a, b) and not a.requires_grad
