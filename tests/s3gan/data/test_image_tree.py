"""ImageNet-layout trees written from arrays: pre-resized or at the images' own size."""

from __future__ import annotations

import numpy as np
from PIL import Image

from s3gan.data.image_tree import write_imagenet_tree


def _noisy(n: int, height: int, width: int) -> np.ndarray:
    return np.random.default_rng(n).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_images_are_resized_square_and_validation_is_flat_with_labels(tmp_path):
    images = np.stack([_noisy(n, 28, 40) for n in range(4)])
    labels = np.array([0, 1, 1, 0])
    root = write_imagenet_tree(tmp_path, (images, labels), (images[:2], labels[:2]),
                               ["a", "b"], "png", 16)
    assert sorted(p.name for p in (root / "train" / "b").iterdir()) == ["0000001.png",
                                                                        "0000002.png"]
    with Image.open(root / "train" / "a" / "0000003.png") as image:
        assert image.size == (16, 16) and image.mode == "RGB"
    assert (root / "val_labels.txt").read_text() == "val_0000000.png a\nval_0000001.png b\n"


def test_lazily_made_images_keep_their_size_and_quality_sets_the_jpeg_bytes(tmp_path):
    made = []

    def lazily():
        for n in range(3):
            made.append(n)
            yield _noisy(n, 30, 50)

    sizes = {}
    for quality in (50, 95):
        labels = np.zeros(3, dtype=np.int64)
        root = write_imagenet_tree(tmp_path / str(quality), (lazily(), labels), None, ["a"],
                                   "jpeg", None, quality=quality)
        files = sorted((root / "train" / "a").iterdir())
        with Image.open(files[0]) as image:
            assert image.size == (50, 30)
        sizes[quality] = sum(f.stat().st_size for f in files)
    assert made == [0, 1, 2, 0, 1, 2]
    assert sizes[50] < sizes[95]
