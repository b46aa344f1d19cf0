"""A converted split streamed shard by shard for the evaluation stage's real-image statistics
(images with their labels, which the intra-class FID groups by)."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from s3gan.data.split_images import shard_images
from s3gan.data.storage import Location


def image_batches(location: Location, split: str, batch_size: int
                  ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(uint8 [≤ batch_size, 3, H, W], labels) batches of ``split``, shard by shard."""
    for images, labels, _ in shard_images(location, split):
        yield from zip(torch.from_numpy(images).split(batch_size),
                       torch.from_numpy(labels.astype("int64")).split(batch_size), strict=True)
