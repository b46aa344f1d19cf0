"""×2 upsampling in G's ResBlocks (paper appendix B, Table 7: "upsample").

"zero-insertion" is compare_gan's ``unpool`` (Dosovitskiy et al. 2015): each value lands
at an even position and zeros fill the odd rows and columns, so the following 3×3 conv
interpolates. "nearest" is BigGAN-PyTorch's nearest-neighbour upsampling.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
import torch.nn.functional as F

Upsampling = Literal["zero-insertion", "nearest"]


def check_upsampling(mode: str) -> None:
    if mode not in get_args(Upsampling):
        raise ValueError(f"model.upsampling must be one of {get_args(Upsampling)}, got {mode!r}")


def upsample(x: torch.Tensor, mode: Upsampling) -> torch.Tensor:
    """[N, C, H, W] → [N, C, 2H, 2W]."""
    if mode == "nearest":
        return F.interpolate(x, scale_factor=2.0, mode="nearest")
    n, c, h, w = x.shape
    out = x.new_zeros(n, c, 2 * h, 2 * w)
    out[:, :, ::2, ::2] = x
    return out
