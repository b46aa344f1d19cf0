"""Data fixtures: small IDX and ImageNet-layout sources cut from Debian's Fashion-MNIST, and
one full conversion shared by the tests that need all 70,000 images."""

from __future__ import annotations

import pytest

from s3gan.data.convert import convert
from s3gan.data.idx import read_idx
from s3gan.data.image_tree import write_imagenet_tree
from s3gan.data.manifest import Settings
from tests.fixtures.datasets import FASHION, WNIDS, quiet, write_fashion_subset


@pytest.fixture(scope="session")
def fashion_arrays():
    train = tuple(t.numpy() for t in read_idx(FASHION, "train"))
    test = tuple(t.numpy() for t in read_idx(FASHION, "t10k"))
    return train, test


@pytest.fixture(scope="session")
def fashion_subset(tmp_path_factory):
    """An IDX folder with the first 500 training and 100 test images."""
    return write_fashion_subset(tmp_path_factory.mktemp("fashion-subset"), 500, 100)


@pytest.fixture(scope="session")
def subset_dataset(tmp_path_factory, fashion_subset):
    """``fashion_subset`` converted at 32 px, raw, 64 images per shard."""
    dest = tmp_path_factory.mktemp("subset-dataset") / "ds"
    convert(str(fashion_subset), str(dest), Settings(32, 3, "raw", 64), workers=1, report=quiet)
    return dest


@pytest.fixture(scope="session")
def fashion_full_dataset(tmp_path_factory):
    """All of Fashion-MNIST at 32 px, converted once per test run."""
    dest = tmp_path_factory.mktemp("fashion-full") / "ds"
    convert(FASHION, str(dest), Settings(32, 3, "raw", 1024), report=quiet)
    return dest


@pytest.fixture(scope="session")
def imagenet_tree(tmp_path_factory, fashion_arrays):
    """An ImageNet-layout JPEG tree: 200 training images in wnid folders, 50 flat validation
    images with a labels file, at 64 px."""
    (train_images, train_labels), (test_images, test_labels) = fashion_arrays
    return write_imagenet_tree(
        tmp_path_factory.mktemp("imagenet") / "tree",
        (train_images[:200], train_labels[:200]),
        (test_images[:50], test_labels[:50]),
        WNIDS, "jpeg", 64,
    )
