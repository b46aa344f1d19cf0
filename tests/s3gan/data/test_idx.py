"""read_idx on Debian's Fashion-MNIST and on malformed files."""

import gzip

import numpy as np
import pytest
import torch

from s3gan.data.idx import IdxError, read_idx

FASHION = "/usr/share/datasets/fashion-mnist"


def test_fashion_mnist_train_and_test_splits():
    images, labels = read_idx(FASHION, "train")
    assert images.shape == (60_000, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (60_000,) and labels.dtype == torch.int64
    assert torch.bincount(labels).tolist() == [6_000] * 10
    test_images, test_labels = read_idx(FASHION, "t10k")
    assert test_images.shape == (10_000, 28, 28)
    assert torch.bincount(test_labels).tolist() == [1_000] * 10
    assert images.float().std() > 50  # real pictures, not zeros


def _write_idx(path, array, magic_type=0x08):
    header = bytes([0, 0, magic_type, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_round_trip_of_a_small_file(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.array([7, 1]))
    got, labels = read_idx(tmp_path, "train")
    assert np.array_equal(got.numpy(), images) and labels.tolist() == [7, 1]


def test_truncated_file_is_named(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    _write_idx(path, np.zeros((2, 3, 4)))
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(2))
    data = gzip.decompress(path.read_bytes())[:-5]
    path.write_bytes(gzip.compress(data))
    with pytest.raises(IdxError, match="train-images-idx3-ubyte.gz.*declares"):
        read_idx(tmp_path, "train")


def test_missing_file_and_bad_split(tmp_path):
    with pytest.raises(IdxError, match="no such IDX file"):
        read_idx(tmp_path, "train")
    with pytest.raises(IdxError, match="split"):
        read_idx(FASHION, "validation")


def test_label_count_mismatch(tmp_path):
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((2, 3, 4)))
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(3))
    with pytest.raises(IdxError, match="not N images"):
        read_idx(tmp_path, "train")
