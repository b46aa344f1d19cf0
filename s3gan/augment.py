"""DiffAugment (Zhao et al. 2020): differentiable augmentations applied with the same policy
to real images and to G's outputs, in both the D and the G updates, so gradients reach G
through them.

Images are in [-1, 1] (zero = mid-grey), whatever G's output range. Each transform draws
one random value per image:
- "color": brightness + U(-0.5, 0.5); saturation × U(0, 2) around the per-pixel channel mean;
  contrast × U(0.5, 1.5) around the image mean.
- "translation": an integer shift of up to 1/8 of the image size in each direction, the
  uncovered border filled with zeros.
- "cutout": a square of half the image size, its centre uniform over the image, clipped at
  the border, set to zero.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F

POLICIES = ("color", "translation", "cutout")
TRANSLATION_RATIO = 1 / 8
CUTOUT_RATIO = 1 / 2


def _uniform(n: int, low: float, high: float, x: torch.Tensor,
             generator: torch.Generator | None) -> torch.Tensor:
    device = generator.device if generator is not None else x.device
    u = torch.rand(n, generator=generator, device=device).to(device=x.device, dtype=x.dtype)
    return (low + (high - low) * u).view(n, 1, 1, 1)


def _integers(n: int, low: int, high: int, x: torch.Tensor,
              generator: torch.Generator | None) -> torch.Tensor:
    """n integers uniform in [low, high], on x's device."""
    device = generator.device if generator is not None else x.device
    return torch.randint(low, high + 1, (n,), generator=generator, device=device).to(x.device)


def brightness(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    return x + _uniform(x.shape[0], -0.5, 0.5, x, generator)


def saturation(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    grey = x.mean(dim=1, keepdim=True)
    return (x - grey) * _uniform(x.shape[0], 0.0, 2.0, x, generator) + grey


def contrast(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _uniform(x.shape[0], 0.5, 1.5, x, generator) + mean


def color(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    return contrast(saturation(brightness(x, generator), generator), generator)


def random_shift(x: torch.Tensor, generator: torch.Generator | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image integer shifts (dy, dx), each uniform in ±1/8 of the image size."""
    _, _, h, w = x.shape
    max_dy, max_dx = int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)
    dy = _integers(x.shape[0], -max_dy, max_dy, x, generator)
    dx = _integers(x.shape[0], -max_dx, max_dx, x, generator)
    return dy, dx


def shifted(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor,
            border: Literal["zeros", "edge"]) -> torch.Tensor:
    """Image i moved by (dy[i], dx[i]) pixels; the uncovered pixels are zero, or repeat the
    nearest edge pixel."""
    n, _, h, w = x.shape
    # Output pixel (i, j) reads input (i - dy, j - dx), clamped into the image, or onto the
    # one-pixel zero border that the padding adds.
    outside = 1 if border == "zeros" else 0
    padded = F.pad(x, (1, 1, 1, 1)) if outside else x
    rows = (torch.arange(h, device=x.device)[None, :] - dy[:, None]).clamp(
        -outside, h - 1 + outside) + outside
    cols = (torch.arange(w, device=x.device)[None, :] - dx[:, None]).clamp(
        -outside, w - 1 + outside) + outside
    batch = torch.arange(n, device=x.device)[:, None, None]
    moved = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    return moved.permute(0, 3, 1, 2)


def translation(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    return shifted(x, *random_shift(x, generator), border="zeros")


def cutout(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    n, _, h, w = x.shape
    size_y, size_x = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    top = _integers(n, 0, h - 1, x, generator) - size_y // 2
    left = _integers(n, 0, w - 1, x, generator) - size_x // 2
    rows, cols = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
    in_rows = (rows[None, :] >= top[:, None]) & (rows[None, :] < top[:, None] + size_y)
    in_cols = (cols[None, :] >= left[:, None]) & (cols[None, :] < left[:, None] + size_x)
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])
    return x * keep[:, None].to(x.dtype)


TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}
Transform = Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]


def apply_policy(x: torch.Tensor, policy: tuple[str, ...], transforms: dict[str, Transform],
                 field: str, generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply the policy's ``transforms`` in order; an unknown name is an error naming the
    spec's ``field``."""
    unknown = [name for name in policy if name not in transforms]
    if unknown:
        raise ValueError(f"{field}: unknown transforms {unknown}; choose from {tuple(transforms)}")
    for name in policy:
        x = transforms[name](x, generator)
    return x


def diff_augment(x: torch.Tensor, policy: tuple[str, ...],
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply the policy's transforms in order to images x [N, C, H, W] in [-1, 1]."""
    return apply_policy(x, policy, TRANSFORMS, "training.diffAugment", generator)
