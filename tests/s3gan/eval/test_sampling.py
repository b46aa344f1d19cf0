"""Truncated latents (BigGAN's truncation trick) and per-class grids."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import nn

from s3gan.eval.sampling import (
    class_rows,
    grid_classes,
    sample_latents,
    save_class_grid,
    truncated_normal,
)


def test_truncation_resamples_every_entry_beyond_the_threshold():
    z = truncated_normal(4000, 8, 0.5, torch.Generator().manual_seed(0))
    assert z.shape == (4000, 8) and z.abs().max() <= 0.5
    # Resampled, not clipped: no mass piles up at the threshold.
    assert (z.abs() > 0.49).float().mean() < 0.05


def test_no_truncation_is_plain_standard_normal_and_seeded():
    a = sample_latents(3, 5, None, torch.Generator().manual_seed(3))
    b = torch.randn(3, 5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert sample_latents(10_000, 2, None).abs().max() > 2.0


class _LabelPainter(nn.Module):
    """Paints class y as grey level y/10 (in [-1, 1] output range) so rows can be checked."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, z, y):
        level = (y.float() / 10 * 2 - 1) * self.scale
        return level[:, None, None, None].expand(len(y), 3, 4, 4)


def test_grid_has_one_row_per_class(tmp_path):
    images = class_rows(_LabelPainter(), [0, 5, 9], per_class=4, z_dim=2,
                        output_range="minus-one-one")
    assert images.shape == (12, 3, 4, 4) and images.min() >= 0 and images.max() <= 1
    path = save_class_grid(images, per_class=4, path=tmp_path / "grid.png")
    picture = torch.from_numpy(np.array(Image.open(path).convert("L")))
    assert picture.shape == (2 + 3 * 6, 2 + 4 * 6)
    row_levels = [picture[2 + 6 * r + 2, 4].item() for r in range(3)]
    assert row_levels == [0, 128, 230]


def test_grid_classes_spread_over_many_labels():
    assert grid_classes(3) == [0, 1, 2]
    assert grid_classes(1000, rows=5) == [0, 250, 500, 749, 999]
