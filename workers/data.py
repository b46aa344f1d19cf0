"""The inference and evaluation reader: a Ray Data dataset over a converted split's shards.

Unlike training (``s3gan.data.reader``, a deterministic per-rank sampler that drops the
remainder), inference must see every image exactly once: each shard becomes one block, read
and verified against the manifest's checksum by the same code as the training reader, decoded
to uint8 [N, 3, H, W] in a Ray task, and split across consumers with
``Dataset.streaming_split(n, equal=False)``, which hands each block to exactly one of them.
"""

from __future__ import annotations

import numpy as np
import ray.data

from s3gan.data.manifest import Settings, ShardRecord, read_manifest, read_verified_shard
from s3gan.data.masks import read_mask
from s3gan.data.shards import decode_images, read_columns
from s3gan.data.storage import open_location
from s3gan.spec.model import Storage

COLUMNS = ("images", "labels", "index", "labelled")


def _decode_shards(batch: dict[str, np.ndarray], uri: str, storage: Storage,
                   shards: tuple[ShardRecord, ...], settings: Settings,
                   labelled_index: np.ndarray | None) -> dict[str, np.ndarray]:
    """The decoded rows of the shards at the positions in ``batch["shard"]``."""
    location = open_location(uri, storage)
    parts = []
    for position in batch["shard"].tolist():
        table = read_columns(read_verified_shard(location, shards[position]),
                             ["image", "label", "index"])
        images = decode_images(table["image"].combine_chunks(), settings.encoding,
                               settings.resolution, settings.channels)
        parts.append((images, table["label"].to_numpy(), table["index"].to_numpy()))
    images, labels, index = (np.concatenate(column) for column in zip(*parts, strict=True))
    if labelled_index is None:
        labelled = np.ones(len(index), dtype=bool)
    else:
        labelled = np.isin(index, labelled_index)
        labels = np.where(labelled, labels, -1)
    return {"images": images, "labels": labels, "index": index, "labelled": labelled}


def image_dataset(
    uri: str,
    split: str,
    storage: Storage | None = None,
    mask: tuple[float, int] | None = None,
) -> ray.data.Dataset:
    """Every stored image of ``split`` once, one block per shard, with the columns of
    ``Batch`` (labels outside a given labelled ``mask`` are -1, as in training)."""
    location = open_location(uri, storage)
    manifest = read_manifest(location)
    shards = manifest.split_shards(split)
    labelled_index = read_mask(location, manifest.mask(split, *mask)) if mask else None
    positions = ray.data.from_items([{"shard": i} for i in range(len(shards))],
                                    override_num_blocks=len(shards))
    return positions.map_batches(
        _decode_shards,
        fn_kwargs={"uri": location.uri, "storage": location.storage, "shards": shards,
                   "settings": manifest.settings, "labelled_index": labelled_index},
        batch_size=1,
    )


def to_batch(rows: dict[str, np.ndarray]):
    """A ``s3gan.data.batch.Batch`` from a batch of the dataset's rows (``iter_batches``).

    torch is imported here, not at the top: the read tasks need only pyarrow and numpy, and
    Ray starts their worker processes faster without it."""
    import torch

    from s3gan.data.batch import Batch

    # Ray hands out read-only views of its object store; torch wants memory it may write.
    return Batch(*(torch.from_numpy(np.require(rows[c], requirements="W")) for c in COLUMNS))
