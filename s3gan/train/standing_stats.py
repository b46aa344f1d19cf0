"""Standing BatchNorm statistics for evaluating a generator (compare_gan; BigGAN appendix C).

Running averages collected during training describe the *training* weights at earlier steps;
an averaged (EMA) generator never saw them. Instead, reset every BatchNorm's statistics and
accumulate them as a plain cumulative mean (``momentum=None``) over many generated samples with
no gradient. Only the BatchNorm layers are put in training mode, so spectral normalisation keeps
its power-iteration vectors untouched.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

# (n, generator) -> (z [n, z_dim], y int64 [n]): what the generator is conditioned on.
InputSampler = Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


@torch.no_grad()
def standing_statistics(
    generator_net: nn.Module,
    sample_inputs: InputSampler,
    samples: int,
    batch_size: int,
    rng: torch.Generator,
) -> int:
    """Replace every BatchNorm's running statistics in ``generator_net``; returns how many
    BatchNorm layers were updated. Leaves the network in eval mode."""
    norms = [m for m in generator_net.modules() if isinstance(m, _BatchNorm)]
    generator_net.eval()
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
        norm.train()
    try:
        done = 0
        while done < samples:
            n = min(batch_size, samples - done)
            z, y = sample_inputs(n, rng)
            generator_net(z, y)
            done += n
    finally:
        for norm, momentum in zip(norms, momenta, strict=True):
            norm.momentum = momentum
            norm.eval()
    return len(norms)
