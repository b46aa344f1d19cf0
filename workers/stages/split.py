"""A converted split read whole into memory, or shard by shard, every image once in index order.

The pretraining stage holds its (small, 32×32) training split in memory, and the evaluation stage
streams the real images for FID statistics; both read the shards the training reader reads,
verified against the manifest's checksums.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from s3gan.data.manifest import read_manifest, read_verified_shard
from s3gan.data.masks import read_mask
from s3gan.data.shards import decode_images, read_columns
from s3gan.data.storage import Location


@dataclass(frozen=True)
class SplitImages:
    images: torch.Tensor  # uint8 [N, 3, H, W]
    truth: torch.Tensor  # int64 [N]: ground-truth classes (for measuring, never for training)
    index: torch.Tensor  # int64 [N]: stable indices
    labelled: torch.Tensor  # bool [N]: in the labelled mask (all False without one)

    def labels(self) -> torch.Tensor:
        """The labels a method may read: ground truth inside the mask, -1 outside."""
        return torch.where(self.labelled, self.truth, torch.full_like(self.truth, -1))


def shard_images(location: Location, split: str) -> Iterator[tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray]]:
    """(uint8 images, labels, indices) of each shard of ``split`` in order."""
    manifest = read_manifest(location)
    s = manifest.settings
    for shard in manifest.split_shards(split):
        table = read_columns(read_verified_shard(location, shard), ["image", "label", "index"])
        images = decode_images(table["image"].combine_chunks(), s.encoding, s.resolution,
                               s.channels)
        yield images, table["label"].to_numpy(), table["index"].to_numpy()


def read_split(location: Location, split: str, mask: tuple[float, int] | None = None
               ) -> SplitImages:
    """Every image of ``split``; ``mask`` = (fraction, seed) marks the stored labelled subset."""
    images, truth, index = (np.concatenate(c) for c in zip(*shard_images(location, split),
                                                             strict=True))
    if mask is None:
        labelled = np.zeros(len(index), dtype=bool)
    else:
        manifest = read_manifest(location)
        labelled = np.isin(index, read_mask(location, manifest.mask(split, *mask)))
    return SplitImages(torch.from_numpy(images), torch.from_numpy(truth),
                       torch.from_numpy(index), torch.from_numpy(labelled))


def image_batches(location: Location, split: str, batch_size: int) -> Iterator[torch.Tensor]:
    """uint8 [≤ batch_size, 3, H, W] batches of ``split``, shard by shard."""
    for images, _, _ in shard_images(location, split):
        yield from torch.from_numpy(images).split(batch_size)
