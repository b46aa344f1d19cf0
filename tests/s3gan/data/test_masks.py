"""The labelled subset: exact per-class fractions, reproducible, nested, stored and verified."""

from __future__ import annotations

import numpy as np
import pytest

from s3gan.data.manifest import ManifestError, read_manifest
from s3gan.data.masks import create_masks, draw_labelled, read_mask, split_labels
from s3gan.data.storage import open_location


def test_draw_takes_the_fraction_of_every_class():
    labels = np.repeat(np.arange(4), [100, 50, 10, 3])
    mask = draw_labelled(labels, 0.1, seed=7)
    assert np.bincount(labels[mask]).tolist() == [10, 5, 1, 1]  # at least one per class
    assert np.array_equal(mask, draw_labelled(labels, 0.1, seed=7))
    assert not np.array_equal(mask, draw_labelled(labels, 0.1, seed=8))


def test_smaller_fractions_are_subsets_of_larger_ones():
    labels = np.random.default_rng(0).integers(0, 5, 2_000)
    small, large = draw_labelled(labels, 0.05, 3), draw_labelled(labels, 0.2, 3)
    assert np.all(large[small]) and small.sum() < large.sum()


def test_draw_rejects_a_bad_fraction():
    with pytest.raises(ValueError, match="fraction"):
        draw_labelled(np.zeros(3, dtype=np.int64), 0.0, 0)


def test_stored_masks_on_fashion_mnist(fashion_full_dataset, tmp_path):
    location = open_location(str(fashion_full_dataset))
    first = create_masks(location, [0.1, 0.05], seed=0)
    manifest = read_manifest(location)
    ten = manifest.mask("train", 0.1, 0)
    assert ten.per_class == (600,) * 10 and ten.images == 6_000
    assert manifest.mask("train", 0.05, 0).per_class == (300,) * 10
    labelled = read_mask(location, ten)
    index, labels = split_labels(location, manifest, "train")
    assert np.bincount(labels[np.isin(index, labelled)]).tolist() == [600] * 10
    # The same seed draws the same mask, byte for byte.
    again = create_masks(location, [0.1], seed=0)
    assert again[0].sha256 == first[0].sha256
    assert len(read_manifest(location).masks) == 2
    with pytest.raises(ManifestError, match="s3gan data labels"):
        read_manifest(location).mask("train", 0.2, 0)
