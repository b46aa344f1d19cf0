"""Conversions between stored uint8 images, G's output range and [-1, 1].

G's output range is a model switch (METHOD.md): compare_gan's ``(tanh + 1) / 2`` gives
images in [0, 1] ("zero-one"), BigGAN-PyTorch's ``tanh`` gives [-1, 1] ("minus-one-one").
Real images are fed to D in G's range; DiffAugment works in [-1, 1] (zero = mid-grey).
"""

from __future__ import annotations

from typing import Literal, get_args

import torch

OutputRange = Literal["zero-one", "minus-one-one"]


def check_output_range(output_range: str) -> None:
    if output_range not in get_args(OutputRange):
        raise ValueError(
            f"model.outputRange must be one of {get_args(OutputRange)}, got {output_range!r}"
        )


def to_unit_range(x: torch.Tensor, output_range: OutputRange) -> torch.Tensor:
    """Images in G's output range → [-1, 1]."""
    check_output_range(output_range)
    return x * 2.0 - 1.0 if output_range == "zero-one" else x


def from_unit_range(x: torch.Tensor, output_range: OutputRange) -> torch.Tensor:
    """Images in [-1, 1] → G's output range."""
    check_output_range(output_range)
    return (x + 1.0) / 2.0 if output_range == "zero-one" else x


def from_uint8(images: torch.Tensor, output_range: OutputRange) -> torch.Tensor:
    """Stored uint8 images [N, 3, H, W] → float32 in G's output range."""
    check_output_range(output_range)
    if images.dtype != torch.uint8:
        raise TypeError(f"images must be uint8, got {images.dtype}")
    return from_unit_range(images.float() / 127.5 - 1.0, output_range)


def to_uint8(x: torch.Tensor, output_range: OutputRange) -> torch.Tensor:
    """Images in G's output range → uint8, rounded and clipped (for grids and FID)."""
    unit = to_unit_range(x.detach().float(), output_range)
    return ((unit + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)
