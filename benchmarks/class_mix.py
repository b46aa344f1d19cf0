"""Distinct classes per batch against an i.i.d. draw (``s3gan.data.class_mix``).

1. A class-sorted ImageNet-layout JPEG tree (40 classes × 64 images) through the real
   ``s3gan data convert`` (64 images per shard) and ``TrainingReader``: per-rank and global
   batches at world size 1 and 4, and the labelled-only reader on a 25% mask.
2. The sampler alone at ImageNet's shape (1,000 classes × 1,281 images, 1,024 per shard,
   global batch 2,048 over 1, 8 and 128 replicas), with stable indices in the listing's class
   order (what conversion did before the stable permutation) and in the stable order.

    python -m benchmarks class_mix
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import numpy as np

from s3gan.cli.main import main as s3gan
from s3gan.data.class_mix import iid_distinct_classes, mean_distinct_classes
from s3gan.data.image_tree import synthetic_class_images, write_imagenet_tree
from s3gan.data.manifest import read_manifest
from s3gan.data.reader import WINDOW_SHARDS, TrainingReader
from s3gan.data.sampler import rank_slab
from s3gan.data.sources import listing_positions
from s3gan.data.storage import open_location

STEPS = 20


def _reader_rows(dest: Path) -> None:
    per_class = read_manifest(open_location(str(dest))).per_class["train"]
    mask = read_manifest(open_location(str(dest))).mask("train", 0.25, 2).per_class
    print(f"{'reader':<14} {'world':>5} {'batch/rank':>10} {'per rank':>9} {'global':>7} "
          f"{'iid rank':>8} {'iid global':>10}")
    for name, kwargs, counts, batch in (("training", {}, per_class, 128),
                                        ("labelled-only", {"labelled_only": True,
                                                           "mask": (0.25, 2)}, mask, 64)):
        for world in (1, 4):
            ranks = [[b.labels.numpy() for b in itertools.islice(iter(TrainingReader(
                str(dest), "train", batch // world, seed=5, rank=r, world_size=world,
                **kwargs)), STEPS // 2 if kwargs else STEPS)] for r in range(world)]
            rank_mean = np.mean([mean_distinct_classes(labels) for labels in ranks])
            global_mean = mean_distinct_classes(np.concatenate(s) for s in zip(*ranks, strict=True))
            print(f"{name:<14} {world:>5} {batch // world:>10} {rank_mean:>9.1f} "
                  f"{global_mean:>7.1f} {iid_distinct_classes(counts, batch // world):>8.1f} "
                  f"{iid_distinct_classes(counts, batch):>10.1f}")


def _sampler_rows() -> None:
    classes, per_class, shard, batch = 1000, 1281, 1024, 2048
    listed = np.repeat(np.arange(classes), per_class)
    stable = listed[listing_positions("train", len(listed))]
    rows = np.full(-(-len(listed) // shard), shard)
    rows[-1] = len(listed) - shard * (len(rows) - 1)
    iid = iid_distinct_classes([per_class] * classes, batch)
    print(f"\nsampler at ImageNet shape, global batch {batch} (i.i.d. {iid:.0f} classes)")
    print(f"{'replicas':>8} {'listing order':>13} {'stable order':>12}")
    for world in (1, 8, 128):
        means = []
        for labels in (listed, stable):
            slabs = [rank_slab(rows, 0, 0, WINDOW_SHARDS, batch // world, r, world)
                     for r in range(world)]
            means.append(mean_distinct_classes(
                np.concatenate([_step_labels(labels, s, shard, step, batch // world)
                                for s in slabs]) for step in range(5)))
        print(f"{world:>8} {means[0]:>13.0f} {means[1]:>12.0f}")


def _step_labels(labels: np.ndarray, slab, shard: int, step: int, batch: int) -> np.ndarray:
    """The labels of a rank's batch ``step``: its rows' stable indices looked up in ``labels``."""
    rows = slice(step * batch, (step + 1) * batch)
    return labels[slab.shard[rows] * shard + slab.row[rows]]


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        tree = write_imagenet_tree(root / "tree", synthetic_class_images(40, 64, 0, (20, 40)),
                                   None, [f"n{c:08d}" for c in range(40)], "jpeg", None)
        dest = root / "ds"
        common = ["--resolution", "32", "--shard-size", "64", "--workers", "1"]
        assert s3gan(["data", "convert", str(tree / "train"), str(dest), *common]) == 0
        assert s3gan(["data", "labels", str(dest), "--fraction", "0.25", "--seed", "2"]) == 0
        _reader_rows(dest)
    _sampler_rows()


if __name__ == "__main__":
    main()
