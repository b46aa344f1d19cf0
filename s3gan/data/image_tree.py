"""Write images as an ImageNet-layout file tree: ``train/<class>/<n>.<ext>``, a flat ``val/``
and ``val_labels.txt`` (``<file name> <class>`` per line).

The layout users bring, produced from arrays: the baselines the shard reader is measured
against (benchmarks/data_read.py) and the input that exercises the ImageNet source.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

SUFFIXES = {"jpeg": ".JPEG", "png": ".png"}


def write_imagenet_tree(
    root: str | Path,
    train: tuple[Iterable[np.ndarray], np.ndarray],
    validation: tuple[Iterable[np.ndarray], np.ndarray] | None,
    class_names: list[str],
    image_format: str,
    resolution: int | None,
    quality: int = 95,
) -> Path:
    """``train``/``validation``: (uint8 [H, W] or [H, W, 3] images, int64 [N] labels) pairs;
    the images may be produced lazily, one at a time. Each is resized to ``resolution`` square
    (bicubic), or kept at its own size when ``resolution`` is None, and saved as
    ``image_format`` ("jpeg" at ``quality`` with Pillow's default 4:2:0 chroma, or "png")."""
    root = Path(root)
    suffix = SUFFIXES[image_format]

    def save(array: np.ndarray, path: Path) -> None:
        image = Image.fromarray(array).convert("RGB")
        if resolution is not None:
            image = image.resize((resolution, resolution), Image.Resampling.BICUBIC)
        options = {"quality": quality} if image_format == "jpeg" else {}
        image.save(path, format=image_format.upper(), **options)

    images, labels = train
    for name in class_names:
        (root / "train" / name).mkdir(parents=True, exist_ok=True)
    for n, (array, label) in enumerate(zip(images, labels, strict=True)):
        save(array, root / "train" / class_names[label] / f"{n:07d}{suffix}")
    if validation is not None:
        (root / "val").mkdir(parents=True, exist_ok=True)
        lines = []
        for n, (array, label) in enumerate(zip(*validation, strict=True)):
            name = f"val_{n:07d}{suffix}"
            save(array, root / "val" / name)
            lines.append(f"{name} {class_names[label]}\n")
        (root / "val_labels.txt").write_text("".join(lines))
    return root


def synthetic_class_images(
    classes: int, per_class: int, seed: int, sizes: tuple[int, int] = (40, 72)
) -> tuple[Iterator[np.ndarray], np.ndarray]:
    """``per_class`` RGB images of each of ``classes`` classes, class by class as a class-folder
    listing holds them, for ``write_imagenet_tree``: lazily made uint8 [H, W, 3] arrays of
    random height and width in ``sizes`` (ImageNet's photos vary in size and aspect), each its
    class's colour plus noise, and their int64 labels."""
    labels = np.repeat(np.arange(classes, dtype=np.int64), per_class)
    palette = np.random.default_rng([seed, 0]).integers(0, 256, (classes, 3))

    def images() -> Iterator[np.ndarray]:
        rng = np.random.default_rng([seed, 1])
        for label in labels.tolist():
            height, width = rng.integers(sizes[0], sizes[1] + 1, 2)
            noise = rng.normal(0.0, 24.0, (height, width, 3))
            yield np.clip(palette[label] + noise, 0, 255).astype(np.uint8)

    return images(), labels
