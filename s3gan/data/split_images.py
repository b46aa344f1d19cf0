"""A converted split shard by shard, every stored image once, in stable-index order."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from s3gan.data.manifest import Settings, ShardRecord, read_manifest, read_verified_shard
from s3gan.data.shards import decode_images, read_columns
from s3gan.data.storage import Location


def shard_images(location: Location, split: str) -> Iterator[tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray]]:
    """(uint8 images [n, 3, H, W], labels, stable indices) of each shard of ``split`` in
    order, each verified against the manifest's checksum."""
    manifest = read_manifest(location)
    for shard in manifest.split_shards(split):
        yield decoded_shard(location, shard, manifest.settings)


def decoded_shard(location: Location, shard: ShardRecord,
                  s: Settings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(uint8 images [n, 3, H, W], labels, stable indices) of one verified shard."""
    table = read_columns(read_verified_shard(location, shard), ["image", "label", "index"])
    images = decode_images(table["image"].combine_chunks(), s.encoding, s.resolution, s.channels)
    return images, table["label"].to_numpy(), table["index"].to_numpy()

