"""Exponential moving average of the generator's weights (BigGAN section 4; compare_gan's
BigGAN-128 config: decay 0.9999 from step 40k).

Before the start step the average is a plain copy of G, so it starts from trained weights rather
than averaging in the random initialisation. Buffers (spectral-norm vectors, BatchNorm running
statistics) are copied, not averaged: the BatchNorm ones are replaced by standing statistics
before the averaged generator is evaluated.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from s3gan.spec.model import Ema


class GeneratorEma:
    def __init__(self, generator: nn.Module, config: Ema):
        self.config = config
        self.average = AveragedModel(generator, multi_avg_fn=get_ema_multi_avg_fn(config.decay))
        self.average.requires_grad_(False)

    @property
    def module(self) -> nn.Module:
        """The averaged generator, called like G."""
        return self.average.module

    @torch.no_grad()
    def update(self, generator: nn.Module, step: int) -> None:
        """Fold in G after G step ``step`` (counted from 1)."""
        if step < self.config.start_step:
            # AveragedModel copies on its first update: make every update before the start a first.
            self.average.n_averaged.zero_()
        self.average.update_parameters(generator)
        for mine, theirs in zip(self.module.buffers(), generator.buffers(), strict=True):
            mine.copy_(theirs)

    def state_dict(self) -> dict:
        return self.average.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.average.load_state_dict(state)
