"""The training reader: resumable at any step, equal and disjoint across ranks, masks honoured."""

from __future__ import annotations

import io
import itertools
import json

import numpy as np
import pytest
import torch
from PIL import Image

from s3gan.data.convert import convert
from s3gan.data.manifest import ChecksumError, Settings, read_manifest
from s3gan.data.masks import create_masks
from s3gan.data.preprocess import centre_crop_resize
from s3gan.data.reader import TrainingReader
from s3gan.data.shards import read_columns
from s3gan.data.sources import listing_positions
from s3gan.data.storage import open_location
from tests.fixtures.datasets import quiet


def _take(reader, n):
    return list(itertools.islice(iter(reader), n))


def test_batches_are_uint8_images_with_their_labels(subset_dataset, fashion_arrays):
    (images, labels), _ = fashion_arrays
    batch = next(iter(TrainingReader(str(subset_dataset), "train", 8, seed=0)))
    assert batch.images.shape == (8, 3, 32, 32) and batch.images.dtype == torch.uint8
    listed = listing_positions("train", 500)[batch.index.numpy()]  # positions in the IDX file
    assert torch.equal(batch.labels, torch.from_numpy(labels[listed]))
    assert batch.labelled.all()
    i = int(listed[0])
    want = centre_crop_resize(Image.fromarray(images[i]), 32, 3).transpose(2, 0, 1)
    assert np.array_equal(batch.images[0].numpy(), want)


def test_start_step_yields_what_an_uninterrupted_run_would(subset_dataset):
    reader = TrainingReader(str(subset_dataset), "train", 16, seed=3)
    assert reader.steps_per_epoch == 500 // 16
    uninterrupted = _take(reader, 2 * reader.steps_per_epoch + 3)
    for start in (5, reader.steps_per_epoch - 1, reader.steps_per_epoch + 2):
        resumed = _take(TrainingReader(str(subset_dataset), "train", 16, seed=3,
                                       start_step=start), 3)
        for a, b in zip(resumed, uninterrupted[start:start + 3], strict=True):
            assert torch.equal(a.index, b.index) and torch.equal(a.images, b.images)


def test_epochs_reshuffle_and_each_epoch_has_no_repeats(subset_dataset):
    reader = TrainingReader(str(subset_dataset), "train", 16, seed=3)
    epochs = _take(reader, 2 * reader.steps_per_epoch)
    first = torch.cat([b.index for b in epochs[: reader.steps_per_epoch]])
    second = torch.cat([b.index for b in epochs[reader.steps_per_epoch:]])
    assert len(set(first.tolist())) == len(first) == reader.steps_per_epoch * 16
    assert not torch.equal(first, second)


def test_ranks_get_the_same_number_of_disjoint_batches(subset_dataset):
    readers = [TrainingReader(str(subset_dataset), "train", 16, seed=3, rank=r, world_size=2)
               for r in range(2)]
    assert readers[0].steps_per_epoch == readers[1].steps_per_epoch == 500 // 32
    seen = [torch.cat([b.index for b in _take(r, r.steps_per_epoch)]) for r in readers]
    assert not set(seen[0].tolist()) & set(seen[1].tolist())


def test_mask_hides_labels_and_labelled_only_filters(subset_dataset):
    location = open_location(str(subset_dataset))
    (record,) = create_masks(location, [0.2], seed=1)
    reader = TrainingReader(str(subset_dataset), "train", 20, seed=0, mask=(0.2, 1))
    batch = next(iter(reader))
    assert torch.equal(batch.labels == -1, ~batch.labelled)
    only = TrainingReader(str(subset_dataset), "train", 10, seed=0, labelled_only=True,
                          mask=(0.2, 1))
    assert only.steps_per_epoch == record.images // 10
    indices = torch.cat([b.index for b in _take(only, only.steps_per_epoch)])
    assert all(b.labelled.all() for b in _take(only, 3))
    assert len(set(indices.tolist())) == len(indices)
    with pytest.raises(ValueError, match="labelled_only needs mask"):
        TrainingReader(str(subset_dataset), "train", 10, seed=0, labelled_only=True)


def test_corrupted_shard_is_named(subset_dataset, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(subset_dataset, copy)
    shard = read_manifest(open_location(str(copy))).shards[0]
    data = bytearray((copy / shard.name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / shard.name).write_bytes(bytes(data))
    reader = TrainingReader(str(copy), "train", 500 // 2, seed=0)  # every shard in 2 batches
    with pytest.raises(ChecksumError, match=f"{shard.name}: checksum mismatch"):
        _take(reader, 2)


def _opened_by_pillow(payload: bytes, encoding: str, channels: int) -> np.ndarray:
    """The plain way back to pixels, as uint8 [3, 32, 32]: Image.open, or the raw bytes."""
    if encoding == "raw":
        hwc = np.frombuffer(payload, dtype=np.uint8).reshape(32, 32, channels)
    else:
        with Image.open(io.BytesIO(payload)) as image:
            hwc = np.asarray(image).reshape(32, 32, channels)
    return np.broadcast_to(hwc.transpose(2, 0, 1), (3, 32, 32))


@pytest.mark.parametrize(("encoding", "channels"), [("jpeg", 3), ("png", 3), ("jpeg", 1),
                                                    ("raw", 1)])
def test_batches_hold_exactly_the_stored_pixels(fashion_subset, tmp_path, encoding, channels):
    """Every image of an epoch against its payload opened the plain way."""
    dest = tmp_path / "ds"
    manifest = convert(str(fashion_subset), str(dest), Settings(32, channels, encoding, 64),
                       workers=1, report=quiet, limit=160)
    stored = {}
    for shard in manifest.split_shards("train"):
        table = read_columns((dest / shard.name).read_bytes(), ["image", "index"])
        stored.update(zip(table["index"].to_pylist(), table["image"].to_pylist(), strict=True))
    reader = TrainingReader(str(dest), "train", 32, seed=1)
    batches = _take(reader, reader.steps_per_epoch)
    assert sum(len(b) for b in batches) == len(stored) == 160
    for batch in batches:
        assert batch.images.dtype == torch.uint8 and batch.images.is_contiguous()
        want = [_opened_by_pillow(stored[i], encoding, channels) for i in batch.index.tolist()]
        assert np.array_equal(batch.images.numpy(), np.stack(want))


def test_raw_images_of_another_size_than_the_manifest_says_are_named(subset_dataset, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(subset_dataset, copy)
    document = json.loads((copy / "manifest.json").read_text())
    document["settings"]["resolution"] = 16
    (copy / "manifest.json").write_text(json.dumps(document))
    reader = TrainingReader(str(copy), "train", 16, seed=0)
    with pytest.raises(ValueError, match=r"shards/train-\d+\.parquet: raw images of \[3072\] "
                                         r"bytes, but the manifest's 16 px × 3 channels make 768"):
        _take(reader, 1)
