"""Write images as an ImageNet-layout file tree: ``train/<class>/<n>.<ext>``, a flat ``val/``
and ``val_labels.txt`` (``<file name> <class>`` per line).

The layout users bring, produced from arrays: the baselines the shard reader is measured
against (benchmarks/data_read.py) and the input that exercises the ImageNet source.
"""

from __future__ import annotations

from collections.abc import Iterable
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
