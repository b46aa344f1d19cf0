"""`s3gan data convert`: counts, round trip, resumption after a kill, and bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from s3gan.data.convert import ConversionError, convert
from s3gan.data.manifest import MANIFEST, Settings, read_manifest
from s3gan.data.preprocess import centre_crop_resize
from s3gan.data.shards import decode_images, read_columns
from s3gan.data.sources import listing_positions
from s3gan.data.storage import open_location
from tests.fixtures.datasets import WNIDS, quiet


def _rows(dest, split):
    location = open_location(str(dest))
    manifest = read_manifest(location)
    tables = [read_columns(location.read_bytes(s.name), ["image", "label", "index"])
              for s in manifest.split_shards(split)]
    return manifest, tables


def test_full_fashion_mnist_counts(fashion_full_dataset):
    manifest = read_manifest(open_location(str(fashion_full_dataset)))
    assert manifest.counts == {"train": 60_000, "validation": 10_000}
    assert manifest.classes == tuple(str(c) for c in range(10))
    assert manifest.per_class == {"train": (6_000,) * 10, "validation": (1_000,) * 10}
    assert sum(s.rows for s in manifest.shards) == 70_000
    assert all(len(s.sha256) == 64 and s.bytes > 0 for s in manifest.shards)
    assert not manifest.skipped


@pytest.mark.parametrize("encoding", ["raw", "png", "jpeg"])
def test_shards_hold_the_preprocessed_images(tmp_path, fashion_subset, fashion_arrays, encoding):
    dest = tmp_path / "ds"
    convert(str(fashion_subset), str(dest), Settings(32, 3, encoding, 200), workers=1,
            report=quiet)
    manifest, tables = _rows(dest, "train")
    assert [s.rows for s in manifest.split_shards("train")] == [200, 200, 100]
    (images, labels), _ = fashion_arrays
    listed = listing_positions("train", 500)
    for table in tables:
        index = listed[table["index"].to_numpy()]  # stable index → position in the IDX file
        got = decode_images(table["image"].combine_chunks(), encoding, 32, 3)
        want = np.stack([centre_crop_resize(Image.fromarray(images[i]), 32, 3).transpose(2, 0, 1)
                         for i in index])
        assert np.array_equal(table["label"].to_numpy(), labels[index])
        error = np.abs(got.astype(int) - want).mean()
        assert error == 0 if encoding != "jpeg" else error < 3


def test_imagenet_layout_with_validation_labels_file(tmp_path, imagenet_tree, fashion_arrays):
    manifest = convert(str(imagenet_tree), str(tmp_path / "ds"), Settings(32, 3, "raw", 64),
                       workers=1, report=quiet)
    (_, train_labels), (_, test_labels) = fashion_arrays
    assert manifest.classes == tuple(WNIDS)
    assert manifest.counts == {"train": 200, "validation": 50}
    assert manifest.per_class["validation"] == tuple(np.bincount(test_labels[:50], minlength=10))
    _, tables = _rows(tmp_path / "ds", "train")
    stored = np.concatenate([t["label"].to_numpy() for t in tables])
    # Files are listed class by class; stable indices permute that listing.
    assert np.array_equal(stored, np.sort(train_labels[:200])[listing_positions("train", 200)])
    assert len(np.unique(stored[:64])) == 10  # the first shard mixes every class


def _convert_command(source, dest, *extra):
    return [sys.executable, "-m", "s3gan.cli.main", "data", "convert", str(source), str(dest),
            "--resolution", "32", "--shard-size", "20", "--workers", "1", *extra]


def test_killed_conversion_resumes_to_the_same_shards(tmp_path, fashion_subset):
    whole = tmp_path / "whole"
    convert(str(fashion_subset), str(whole), Settings(32, 3, "raw", 20), workers=1, report=quiet)
    interrupted = tmp_path / "interrupted"
    process = subprocess.Popen(_convert_command(fashion_subset, interrupted),
                               stderr=subprocess.DEVNULL, start_new_session=True)
    progress = interrupted / "progress"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if progress.is_dir() and len(list(progress.glob("*.json"))) >= 5:
            break
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (interrupted / MANIFEST).exists()
    finished_before = len(list(progress.glob("*.json")))
    assert 5 <= finished_before < 30  # 500 + 100 images in shards of 20: 30 shards
    resumed = subprocess.run(_convert_command(fashion_subset, interrupted), check=True,
                             capture_output=True, text=True)
    assert "resuming" in resumed.stderr
    a = json.loads((whole / MANIFEST).read_bytes())
    b = json.loads((interrupted / MANIFEST).read_bytes())
    assert a["shards"] == b["shards"]
    assert sorted(os.listdir(whole / "shards")) == sorted(os.listdir(interrupted / "shards"))


def test_finished_conversion_is_not_redone(subset_dataset, fashion_subset):
    before = (subset_dataset / MANIFEST).read_bytes()
    lines = []
    convert(str(fashion_subset), str(subset_dataset), Settings(32, 3, "raw", 64),
            report=lines.append)
    assert "already converted" in lines[0]
    assert (subset_dataset / MANIFEST).read_bytes() == before


def test_dest_holding_another_dataset_is_refused(subset_dataset, fashion_subset, tmp_path):
    before = {p: p.read_bytes() for p in subset_dataset.rglob("*") if p.is_file()}
    with pytest.raises(ConversionError, match="different dataset.*nothing was overwritten"):
        convert(str(fashion_subset), str(subset_dataset), Settings(64, 3, "raw", 64),
                report=quiet)
    assert {p: p.read_bytes() for p in subset_dataset.rglob("*") if p.is_file()} == before
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ConversionError, match="not empty"):
        convert(str(fashion_subset), str(foreign), Settings(32, 3, "raw", 64), report=quiet)
    assert os.listdir(foreign) == ["notes.txt"]


def _tree_with_corrupt_files(root, imagenet_tree, corrupt):
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    files = sorted((imagenet_tree / "train").rglob("*.JPEG"))[:20]
    for n, path in enumerate(files):
        (root / ("a" if n % 2 else "b") / path.name).write_bytes(path.read_bytes())
    for n in range(corrupt):
        data = files[n].read_bytes()
        (root / "a" / f"broken{n}.jpg").write_bytes(data[: len(data) // 3])
    (root / "b" / "not-a-picture.png").write_bytes(b"plain text, not a PNG")
    return root


def test_corrupt_images_are_skipped_counted_and_listed(tmp_path, imagenet_tree):
    source = _tree_with_corrupt_files(tmp_path / "src", imagenet_tree, corrupt=2)
    manifest = convert(str(source), str(tmp_path / "ds"), Settings(32, 3, "raw", 8),
                       max_skipped=0.2, workers=1, report=quiet)
    assert manifest.counts == {"train": 20}
    assert sorted(s.source.rsplit("/", 1)[1] for s in manifest.skipped) == [
        "broken0.jpg", "broken1.jpg", "not-a-picture.png"]
    assert sum(manifest.per_class["train"]) == 20


def test_too_many_corrupt_images_fail_the_conversion(tmp_path, imagenet_tree):
    source = _tree_with_corrupt_files(tmp_path / "src", imagenet_tree, corrupt=2)
    with pytest.raises(ConversionError, match="3 of 23 images unreadable.*broken0.jpg"):
        convert(str(source), str(tmp_path / "ds"), Settings(32, 3, "raw", 8), max_skipped=0.1,
                workers=1, report=quiet)
    assert not (tmp_path / "ds" / MANIFEST).exists()
