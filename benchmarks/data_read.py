"""Reading + decoding + batching: Parquet shards (each encoding) against an image-file tree.

The baseline, measured in the same run on the same images, is what a user's ImageNet-layout
folder gives a plain loader: open each file with Pillow, decode, stack into uint8 batches.
Both trees (JPEG q95 and PNG) are written from the first N Fashion-MNIST training images,
resized to each resolution; the shards are converted from the lossless PNG tree. Per core:
figures are images per second of CPU time of this one process (all its threads), which a busy
machine disturbs less than wall time; wall-time rates are printed beside them.

    python -m benchmarks data_read [--images 2000] [--batch 64]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from s3gan.data.convert import convert
from s3gan.data.idx import read_idx
from s3gan.data.image_tree import write_imagenet_tree
from s3gan.data.manifest import Settings
from s3gan.data.preprocess import ENCODINGS, default_encoding
from s3gan.data.reader import TrainingReader

FASHION = "/usr/share/datasets/fashion-mnist"
RESOLUTIONS = (32, 64, 128)


def _timed(run) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def read_tree(root: Path, batch: int) -> int:
    """The baseline loader: every file of the tree decoded and stacked into batches."""
    files = sorted((root / "train").rglob("*.*"))
    seen = 0
    for start in range(0, len(files) - batch + 1, batch):
        images = []
        for path in files[start : start + batch]:
            with Image.open(path) as image:
                images.append(np.asarray(image.convert("RGB")).transpose(2, 0, 1))
        seen += len(np.stack(images))
    return seen


def read_shards(dest: Path, batch: int) -> int:
    reader = TrainingReader(str(dest), "train", batch, seed=0)
    return sum(len(b) for b in itertools.islice(iter(reader), reader.steps_per_epoch))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks data_read")
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args(argv if argv is not None else [])
    images, labels = (t.numpy() for t in read_idx(FASHION, "train"))
    train = (images[: args.images], labels[: args.images])
    names = [str(c) for c in range(10)]
    print(f"{args.images} Fashion-MNIST images, batch {args.batch}; rates in images/s "
          "per CPU-second (wall in brackets)")
    print(f"{'px':>4} {'stored as':<12} {'bytes/img':>9} {'img/s cpu':>10} {'(wall)':>9} "
          f"{'vs jpeg tree':>12} {'vs png tree':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for resolution in RESOLUTIONS:
            rates, sizes = {}, {}
            for image_format in ("jpeg", "png"):
                root = write_imagenet_tree(Path(tmp) / f"{image_format}-{resolution}", train,
                                           None, names, image_format, resolution)
                files = list((root / "train").rglob("*.*"))
                sizes[f"{image_format} tree"] = sum(f.stat().st_size for f in files) / len(files)
                wall, cpu = _timed(lambda root=root: read_tree(root, args.batch))
                rates[f"{image_format} tree"] = (args.images / cpu, args.images / wall)
            for encoding in ENCODINGS:
                dest = Path(tmp) / f"shards-{encoding}-{resolution}"
                manifest = convert(str(Path(tmp) / f"png-{resolution}"), str(dest),
                                   Settings(resolution, 3, encoding, 1024), workers=1,
                                   report=lambda line: None)
                shards = manifest.split_shards("train")
                sizes[encoding] = sum(s.bytes for s in shards) / sum(s.rows for s in shards)
                steps = args.images // args.batch * args.batch
                wall, cpu = _timed(lambda dest=dest: read_shards(dest, args.batch))
                rates[encoding] = (steps / cpu, steps / wall)
            for name, (cpu_rate, wall_rate) in rates.items():
                mark = " (default)" if name == default_encoding(resolution) else ""
                print(f"{resolution:>4} {name + mark:<12} {sizes[name]:>9.0f} {cpu_rate:>10.0f} "
                      f"{f'({wall_rate:.0f})':>9} {cpu_rate / rates['jpeg tree'][0]:>11.1f}× "
                      f"{cpu_rate / rates['png tree'][0]:>10.1f}×", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
