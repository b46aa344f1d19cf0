"""Reading + decoding + batching: Parquet shards (each encoding) against image-file trees.

Two baselines, measured in the same run, read by a plain loader (open each file with Pillow,
decode, stack into uint8 batches):

- **originals**: what a user's ImageNet folder really holds. ImageNet's photographs are mostly
  500×375 (mean ≈ 400×350) JPEGs of quality ≈ 90, so the loader must decode them AND
  centre-crop + resize them (``centre_crop_resize``, the converter's own resize) to the
  training resolution. The originals here are 500×375 JPEGs, quality 90, 4:2:0 chroma: each a
  collage of ``COLLAGE_GARMENTS`` Fashion-MNIST garments pasted at random places, sizes
  (14–280 px) and colours over a plain background, plus Gaussian noise of σ = ``NOISE``. A
  28 px garment merely upscaled would be smooth and compress to a few KB, far cheaper to
  decode than a photograph; the clutter gives edges at every scale and the noise gives the
  fine texture that makes JPEG spend bits as on a photo. They come out at ≈ 80 KB, below
  ImageNet's ≈ 110 KB mean, so this baseline decodes if anything faster than ImageNet's files.
- **pre-resized trees**: the same Fashion-MNIST images already resized to the training
  resolution (JPEG q95 and PNG) — a flattering baseline nobody gets from a raw download,
  kept so the shards' gain over a decode of small files stays visible.

The shards are converted from the lossless PNG tree. Per core: figures are images per second
of CPU time of this one process (all its threads), which a busy machine disturbs less than
wall time; wall-time rates are printed beside them.

    python -m benchmarks data_read [--images 2000] [--batch 64]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from s3gan.data.convert import convert
from s3gan.data.idx import read_idx
from s3gan.data.image_tree import write_imagenet_tree
from s3gan.data.manifest import Settings
from s3gan.data.preprocess import ENCODINGS, centre_crop_resize, default_encoding
from s3gan.data.reader import TrainingReader

FASHION = "/usr/share/datasets/fashion-mnist"
RESOLUTIONS = (32, 64, 128)
ORIGINAL_SIZE = (500, 375)  # ImageNet's most common width × height
ORIGINAL_QUALITY = 90
COLLAGE_GARMENTS = 100
NOISE = 12.0  # σ in grey levels
BASELINES = ("originals", "resized jpeg tree", "resized png tree")


def _timed(run) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def photo_like(garments: np.ndarray, seed: int) -> np.ndarray:
    """One uint8 [375, 500, 3] collage of ``garments`` (uint8 [N, 28, 28]) with noise."""
    rng = np.random.default_rng(seed)
    width, height = ORIGINAL_SIZE
    canvas = Image.new("RGB", ORIGINAL_SIZE, tuple(rng.integers(0, 256, 3).tolist()))
    picks = rng.integers(0, len(garments), COLLAGE_GARMENTS)
    sides = rng.integers(14, 281, COLLAGE_GARMENTS)
    for pick, side in zip(picks.tolist(), sides.tolist(), strict=True):
        shape = Image.fromarray(garments[pick]).resize((side, side), Image.Resampling.BICUBIC)
        paint = Image.new("RGB", shape.size, tuple(rng.integers(0, 256, 3).tolist()))
        corner = (int(rng.integers(-side // 2, width)), int(rng.integers(-side // 2, height)))
        canvas.paste(paint, corner, shape)  # the garment's grey levels are its opacity
    noise = rng.standard_normal((height, width, 3), dtype=np.float32) * NOISE
    return np.clip(np.asarray(canvas, dtype=np.float32) + noise, 0, 255).astype(np.uint8)


def read_tree(root: Path, batch: int, prepare: Callable[[Image.Image], np.ndarray]) -> int:
    """The baseline loader: every file of the tree decoded, ``prepare``d to uint8 [H, W, 3]
    and stacked into batches."""
    files = sorted((root / "train").rglob("*.*"))
    seen = 0
    for start in range(0, len(files) - batch + 1, batch):
        images = []
        for path in files[start : start + batch]:
            with Image.open(path) as image:
                images.append(prepare(image).transpose(2, 0, 1))
        seen += len(np.stack(images))
    return seen


def read_shards(dest: Path, batch: int) -> int:
    reader = TrainingReader(str(dest), "train", batch, seed=0)
    return sum(len(b) for b in itertools.islice(iter(reader), reader.steps_per_epoch))


def _mean_file_bytes(root: Path) -> float:
    files = list((root / "train").rglob("*.*"))
    return sum(f.stat().st_size for f in files) / len(files)


def _as_rgb(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks data_read")
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args(argv if argv is not None else [])
    images, labels = (t.numpy() for t in read_idx(FASHION, "train"))
    train = (images[: args.images], labels[: args.images])
    names = [str(c) for c in range(10)]
    # Every image is read once per measurement, so the batched count is what each rate divides.
    batched = args.images // args.batch * args.batch
    with tempfile.TemporaryDirectory() as tmp:
        collages: Iterator[np.ndarray] = (photo_like(images, n) for n in range(args.images))
        originals = write_imagenet_tree(Path(tmp) / "originals", (collages, train[1]), None,
                                        names, "jpeg", None, quality=ORIGINAL_QUALITY)
        width, height = ORIGINAL_SIZE
        print(f"{args.images} Fashion-MNIST images, batch {args.batch}; originals: {width}×"
              f"{height} JPEG q{ORIGINAL_QUALITY} collages, {_mean_file_bytes(originals) / 1e3:.0f}"
              " KB each; rates in images/s per CPU-second (wall in brackets); ratios: this "
              "row's rate over the baseline's")
        print(f"{'px':>4} {'stored as':<22} {'bytes/img':>9} {'img/s cpu':>10} {'(wall)':>9} "
              + " ".join(f"{'vs ' + base:>{len(base) + 3}}" for base in BASELINES))
        for resolution in RESOLUTIONS:
            rates, sizes = {}, {}

            def crop_resize(image, resolution=resolution):
                return centre_crop_resize(image, resolution, 3)

            wall, cpu = _timed(lambda: read_tree(originals, args.batch, crop_resize))
            rates["originals"] = (batched / cpu, batched / wall)
            sizes["originals"] = _mean_file_bytes(originals)
            for image_format in ("jpeg", "png"):
                name = f"resized {image_format} tree"
                root = write_imagenet_tree(Path(tmp) / f"{image_format}-{resolution}", train,
                                           None, names, image_format, resolution)
                sizes[name] = _mean_file_bytes(root)
                wall, cpu = _timed(lambda root=root: read_tree(root, args.batch, _as_rgb))
                rates[name] = (batched / cpu, batched / wall)
            for encoding in ENCODINGS:
                dest = Path(tmp) / f"shards-{encoding}-{resolution}"
                manifest = convert(str(Path(tmp) / f"png-{resolution}"), str(dest),
                                   Settings(resolution, 3, encoding, 1024), workers=1,
                                   report=lambda line: None)
                shards = manifest.split_shards("train")
                name = f"{encoding} shards"
                sizes[name] = sum(s.bytes for s in shards) / sum(s.rows for s in shards)
                wall, cpu = _timed(lambda dest=dest: read_shards(dest, args.batch))
                rates[name] = (batched / cpu, batched / wall)
            for name, (cpu_rate, wall_rate) in rates.items():
                mark = " (default)" if name == f"{default_encoding(resolution)} shards" else ""
                ratios = " ".join(f"{cpu_rate / rates[base][0]:>{len(base) + 2}.1f}×"
                                  for base in BASELINES)
                print(f"{resolution:>4} {name + mark:<22} {sizes[name]:>9.0f} {cpu_rate:>10.0f} "
                      f"{f'({wall_rate:.0f})':>9} {ratios}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
