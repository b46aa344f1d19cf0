"""The non-local (self-attention) block of SAGAN (Zhang et al. 2019, eqs. 1–3), used in
G and D at 64×64 (paper appendix B, Tables 6–7).

θ and φ are 1×1 convs to C/8 channels, g to C/2; φ and g are max-pooled 2×2 (compare_gan's
``non_local_block``); attention = softmax(θᵀφ) without scaling; the attended g goes through
a 1×1 conv back to C and is added with a learnt gain σ that starts at zero. No biases.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from s3gan.nn.layers import Layers


class NonLocalBlock(nn.Module):
    def __init__(self, channels: int, layers: Layers):
        super().__init__()
        if channels % 8:
            raise ValueError(f"the non-local block needs channels divisible by 8, got {channels}")
        self.theta = layers.conv(channels, channels // 8, 1, bias=False)
        self.phi = layers.conv(channels, channels // 8, 1, bias=False)
        self.g = layers.conv(channels, channels // 2, 1, bias=False)
        self.out = layers.conv(channels // 2, channels, 1, bias=False)
        self.sigma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        query = self.theta(x).flatten(2).transpose(1, 2)
        key = F.max_pool2d(self.phi(x), 2).flatten(2).transpose(1, 2)
        value = F.max_pool2d(self.g(x), 2).flatten(2).transpose(1, 2)
        attended = F.scaled_dot_product_attention(query, key, value, scale=1.0)
        attended = attended.transpose(1, 2).reshape(n, c // 2, h, w)
        return x + self.sigma * self.out(attended)
