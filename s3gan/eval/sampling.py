"""Sampling the generator: the truncation trick and per-class sample grids.

Truncation (BigGAN, Brock et al. 2019, section 3.1): latents are drawn from N(0, I) and every
entry whose magnitude exceeds the threshold is redrawn until none does; smaller thresholds trade
diversity for fidelity. The S³GAN runs use no truncation (paper section 4), so ``None`` means
plain N(0, I).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from torchvision.utils import save_image

from s3gan.nn.ranges import to_unit_range


def truncated_normal(
    n: int, dim: int, threshold: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """N(0, I) latents [n, dim] with every entry |z| > threshold resampled."""
    if threshold <= 0:
        raise ValueError(f"truncation threshold must be positive, got {threshold}")
    device = generator.device if generator is not None else None
    z = torch.randn(n, dim, generator=generator, device=device)
    outside = z.abs() > threshold
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()), generator=generator, device=device)
        outside = z.abs() > threshold
    return z


def sample_latents(
    n: int, dim: int, truncation: float | None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """z ~ N(0, I) [n, dim], truncated when a threshold is given."""
    if truncation is not None:
        return truncated_normal(n, dim, truncation, generator)
    device = generator.device if generator is not None else None
    return torch.randn(n, dim, generator=generator, device=device)


@torch.no_grad()
def class_rows(
    generator_net: nn.Module,
    classes: Sequence[int],
    per_class: int,
    z_dim: int,
    output_range: str,
    truncation: float | None = None,
    rng: torch.Generator | None = None,
) -> torch.Tensor:
    """Images in [0, 1], ``per_class`` per class in order: [len(classes)·per_class, 3, R, R]."""
    device = next(generator_net.parameters()).device
    labels = torch.tensor(classes, dtype=torch.int64, device=device).repeat_interleave(per_class)
    z = sample_latents(len(labels), z_dim, truncation, rng).to(device)
    images = generator_net(z, labels)
    return (to_unit_range(images.float(), output_range) + 1) / 2


def grid_classes(num_classes: int, rows: int = 10) -> list[int]:
    """At most ``rows`` classes spread evenly over the label set (all of them when few)."""
    if num_classes <= rows:
        return list(range(num_classes))
    return torch.linspace(0, num_classes - 1, rows).round().long().tolist()


def save_class_grid(images: torch.Tensor, per_class: int, path: Path) -> Path:
    """Write images from :func:`class_rows` as a PNG grid, one row per class."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(images.clamp(0, 1), path, nrow=per_class, padding=2)
    return path
