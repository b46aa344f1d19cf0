"""Standing BatchNorm statistics: reset, then the plain mean over many samples, no grad."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from s3gan.train.standing_stats import standing_statistics


class _Shifted(nn.Module):
    """A conditional net: the batch norm sees z + y, so its statistics are known exactly."""

    def __init__(self):
        super().__init__()
        self.fc = spectral_norm(nn.Linear(2, 2))
        self.norm = nn.BatchNorm1d(2, momentum=0.1)

    def forward(self, z, y):
        return self.norm(z + y[:, None].float()) + 0 * self.fc(z)


def _inputs(n, rng):
    z = torch.randn(n, 2, generator=rng)
    return z, torch.full((n,), 5, dtype=torch.int64)


def test_statistics_are_the_cumulative_mean_over_all_samples():
    net = _Shifted()
    net.norm.running_mean.fill_(-100.0)
    u_before = net.fc.parametrizations.weight[0]._u.clone()
    updated = standing_statistics(net, _inputs, samples=4000, batch_size=64, rng=torch.Generator())
    assert updated == 1
    torch.testing.assert_close(net.norm.running_mean, torch.full((2,), 5.0), atol=0.1, rtol=0)
    torch.testing.assert_close(net.norm.running_var, torch.ones(2), atol=0.1, rtol=0)
    assert net.norm.num_batches_tracked.item() == 63  # ceil(4000 / 64) batches, all counted
    assert net.norm.momentum == 0.1 and not net.training and not net.norm.training
    # Spectral norm stays in eval mode: its power-iteration vector is not advanced.
    assert torch.equal(net.fc.parametrizations.weight[0]._u, u_before)


def test_same_rng_seed_gives_the_same_statistics():
    a, b = _Shifted(), _Shifted()
    standing_statistics(a, _inputs, 300, 32, torch.Generator().manual_seed(1))
    standing_statistics(b, _inputs, 300, 32, torch.Generator().manual_seed(1))
    assert torch.equal(a.norm.running_mean, b.norm.running_mean)
