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
import torch.nn.functional as F

from s3gan.augment import apply_policy

CROP_PADDING_RATIO = 1 / 8


def random_crop(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    n, _, h, w = x.shape
    pad_y, pad_x = int(h * CROP_PADDING_RATIO + 0.5), int(w * CROP_PADDING_RATIO + 0.5)
    padded = F.pad(x, (pad_x, pad_x, pad_y, pad_y), mode="replicate")
    top = torch.randint(0, 2 * pad_y + 1, (n, 1), generator=generator).to(x.device)
    left = torch.randint(0, 2 * pad_x + 1, (n, 1), generator=generator).to(x.device)
    rows = top + torch.arange(h, device=x.device)
    cols = left + torch.arange(w, device=x.device)
    batch = torch.arange(n, device=x.device)[:, None, None]
    cropped = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    return cropped.permute(0, 3, 1, 2)


def random_flip(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    flip = torch.rand(x.shape[0], generator=generator) < 0.5
    return torch.where(flip.to(x.device)[:, None, None, None], x.flip(3), x)


TRANSFORMS = {"crop": random_crop, "flip": random_flip}


def augment(x: torch.Tensor, policy: tuple[str, ...],
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply the policy's transforms in order (``pretraining.augment``)."""
    return apply_policy(x, policy, TRANSFORMS, "pretraining.augment", generator)
