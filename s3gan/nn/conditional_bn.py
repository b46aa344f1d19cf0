"""Class-conditional BatchNorm (BigGAN; paper appendix B, Table 10 "bn/condition").

The batch is normalised without its own affine parameters, then scaled and shifted per
example: x̂ · γ(c) + β(c) with γ(c) = W_γ c and β(c) = W_β c, linear maps without bias
from the condition c = [shared class embedding, z chunk] (148 → C at 128×128).
The gain is ``W_γ c`` in compare_gan ("gamma") and ``1 + W_γ c`` in BigGAN-PyTorch and
StudioGAN ("one-plus-gamma").
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
from torch import nn

from s3gan.nn.layers import Layers

CbnGain = Literal["gamma", "one-plus-gamma"]
BATCH_NORM_EPS = 1e-5  # compare_gan's BigGAN-128 config (standardize_batch.epsilon)


class ConditionalBatchNorm2d(nn.Module):
    def __init__(self, channels: int, condition_dim: int, gain: CbnGain, layers: Layers):
        super().__init__()
        if gain not in get_args(CbnGain):
            raise ValueError(f"model.cbnGain must be one of {get_args(CbnGain)}, got {gain!r}")
        self.one_plus_gamma = gain == "one-plus-gamma"
        self.norm = nn.BatchNorm2d(channels, eps=BATCH_NORM_EPS, affine=False)
        self.gamma = layers.linear(condition_dim, channels, bias=False)
        self.beta = layers.linear(condition_dim, channels, bias=False)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        gain = self.gamma(condition)[:, :, None, None]
        if self.one_plus_gamma:
            gain = gain + 1.0
        return self.norm(x) * gain + self.beta(condition)[:, :, None, None]
