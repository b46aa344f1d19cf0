"""Augmentation of F's pretraining images: random crops and horizontal flips.

The paper is silent on F's preprocessing, so ``pretraining.augment`` is off by default; S⁴L
(Zhai et al. 2019), whose S⁴L-Rotation eq. 2 is, trains on random crops and horizontal flips.
What they do to F's labels at CPU scale is measured in docs/pretraining.md.

Images are [N, C, H, W] floats; each transform draws one value per image:
- "crop": a window of the image's own size from the image edge-padded by 1/8 of its size on
  every side, i.e. a shift of up to 1/8 of the size; edge padding repeats the border pixels
  rather than inventing a colour.
- "flip": a horizontal flip with probability 1/2.
"""

from __future__ import annotations

import torch

from s3gan.augment import apply_policy, random_shift, shifted


def random_crop(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    # A window of the edge-padded image is the image shifted with its edge pixels repeated.
    return shifted(x, *random_shift(x, generator), border="edge")


def random_flip(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    flip = torch.rand(x.shape[0], generator=generator) < 0.5
    return torch.where(flip.to(x.device)[:, None, None, None], x.flip(3), x)


TRANSFORMS = {"crop": random_crop, "flip": random_flip}


def augment(x: torch.Tensor, policy: tuple[str, ...],
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply the policy's transforms in order (``pretraining.augment``)."""
    return apply_policy(x, policy, TRANSFORMS, "pretraining.augment", generator)
