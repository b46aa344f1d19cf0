"""The labelled subset: k% of every class, drawn once and stored beside the shards.

The paper (section 3) keeps the labels of a random k% of each ImageNet class and treats the
rest as unlabelled. ``draw_labelled`` is the only place that draw happens. Each class gets its
own random order from (seed, class), and a fraction takes the first round(k·n_c) of it, so the
subsets are nested (5% ⊂ 10% ⊂ 20% for one seed) and each class's draw is independent of the
others. A class keeps at least one labelled image.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from s3gan.data.manifest import (
    Manifest,
    ManifestError,
    MaskRecord,
    read_manifest,
    read_verified_shard,
    write_manifest,
)
from s3gan.data.shards import read_columns
from s3gan.data.storage import Location


def draw_labelled(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """bool [N]: which of the images with class ids ``labels`` keep their label."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    labels = np.asarray(labels, dtype=np.int64)
    mask = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        order = np.random.default_rng([seed, int(c)]).permutation(len(members))
        mask[members[order[: max(1, round(fraction * len(members)))]]] = True
    return mask


def mask_name(split: str, fraction: float, seed: int) -> str:
    return f"masks/{split}-fraction-{fraction:g}-seed-{seed}.parquet"


def split_labels(location: Location, manifest: Manifest, split: str) -> tuple[np.ndarray, ...]:
    """(index, label) int64 arrays of every stored image of ``split``, verified, in index order."""
    tables = [
        read_columns(read_verified_shard(location, shard), ["index", "label"])
        for shard in manifest.split_shards(split)
    ]
    table = pa.concat_tables(tables)
    return table["index"].to_numpy(), table["label"].to_numpy()


def create_masks(
    location: Location, fractions: list[float], seed: int, split: str = "train"
) -> list[MaskRecord]:
    """Draw, store and record a mask per fraction; the manifest is rewritten last."""
    manifest = read_manifest(location)
    index, labels = split_labels(location, manifest, split)
    records = []
    for fraction in fractions:
        chosen = draw_labelled(labels, fraction, seed)
        name = mask_name(split, fraction, seed)
        sink = pa.BufferOutputStream()
        pq.write_table(pa.table({"index": index[chosen], "label": labels[chosen]}), sink,
                       compression="zstd")
        data = sink.getvalue().to_pybytes()
        location.write_whole(name, data)
        records.append(MaskRecord(
            name=name, split=split, fraction=fraction, seed=seed, images=int(chosen.sum()),
            per_class=tuple(int(n) for n in np.bincount(labels[chosen],
                                                        minlength=len(manifest.classes))),
            sha256=hashlib.sha256(data).hexdigest(),
        ))
    kept = tuple(m for m in manifest.masks if m.name not in {r.name for r in records})
    write_manifest(location, replace(manifest, masks=kept + tuple(records)))
    return records


def read_mask(location: Location, record: MaskRecord) -> np.ndarray:
    """The sorted stable indices of the labelled images, verified against the manifest."""
    data = location.read_bytes(record.name)
    if hashlib.sha256(data).hexdigest() != record.sha256:
        raise ManifestError(f"{location.url(record.name)}: checksum mismatch with the manifest")
    return np.sort(pq.read_table(pa.BufferReader(data), columns=["index"])["index"].to_numpy())
