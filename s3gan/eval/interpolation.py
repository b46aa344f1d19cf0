"""Latent interpolation (BigGAN, Brock et al. 2019, and the S³GAN paper's Figs. 9–13): images
along the straight line between two latents z_a → z_b, the class held fixed. Sharing one pair
of endpoints across classes shows what the latent controls and what the class does."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from s3gan.eval.sampling import sample_latents
from s3gan.nn.ranges import to_unit_range


def interpolation_latents(start: torch.Tensor, end: torch.Tensor, frames: int) -> torch.Tensor:
    """``frames`` latents [frames, dim] evenly spaced from ``start`` to ``end`` (both included)."""
    if frames < 2:
        raise ValueError(f"an interpolation needs at least 2 frames, got {frames}")
    if start.shape != end.shape or start.dim() != 1:
        raise ValueError(f"endpoints must be two [dim] latents, got {list(start.shape)} and "
                         f"{list(end.shape)}")
    weights = torch.linspace(0.0, 1.0, frames, device=start.device).unsqueeze(1)
    return torch.lerp(start.unsqueeze(0), end.unsqueeze(0), weights)


@torch.no_grad()
def interpolation_rows(
    generator_net: nn.Module,
    classes: Sequence[int],
    frames: int,
    z_dim: int,
    output_range: str,
    truncation: float | None = None,
    rng: torch.Generator | None = None,
) -> torch.Tensor:
    """One row per class, the same z_a → z_b in every row: images in [0, 1],
    [len(classes)·frames, 3, R, R]."""
    device = next(generator_net.parameters()).device
    start, end = sample_latents(2, z_dim, truncation, rng).to(device)
    z = interpolation_latents(start, end, frames).repeat(len(classes), 1)
    labels = torch.tensor(classes, dtype=torch.int64, device=device).repeat_interleave(frames)
    images = generator_net(z, labels)
    return (to_unit_range(images.float(), output_range) + 1) / 2
