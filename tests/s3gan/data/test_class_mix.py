"""Class-mixed batches from a class-sorted ImageNet-layout tree, through `s3gan data convert`
and the training reader: per rank and globally at world size 1 and 4, labelled-only too."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from s3gan.data.class_mix import iid_distinct_classes, mean_distinct_classes
from s3gan.data.manifest import read_manifest
from s3gan.data.reader import TrainingReader
from s3gan.data.storage import open_location
from tests.fixtures.datasets import class_sorted_dataset

CLASSES, PER_CLASS, SHARD = 40, 64, 64  # a shard holds as many images as a class
STEPS = 12


@pytest.fixture(scope="module")
def sorted_tree_dataset(tmp_path_factory):
    return class_sorted_dataset(tmp_path_factory.mktemp("class-mix"), CLASSES, PER_CLASS, SHARD)


def _labels(reader, steps=STEPS):
    return [b.labels.numpy() for b in itertools.islice(iter(reader), steps)]


def test_iid_expectation_matches_a_simulated_draw():
    population = np.repeat(np.arange(10), [5, 50, 100, 5, 5, 300, 20, 20, 40, 80])
    rng = np.random.default_rng(0)
    draws = [rng.choice(population, 32, replace=False) for _ in range(4000)]
    expected = iid_distinct_classes(np.bincount(population), 32)
    assert abs(mean_distinct_classes(draws) - expected) < 0.05


@pytest.mark.parametrize("world", [1, 4])
def test_batches_mix_classes_like_an_iid_draw(sorted_tree_dataset, world):
    per_rank = 128 // world
    readers = [TrainingReader(str(sorted_tree_dataset), "train", per_rank, seed=5, rank=r,
                              world_size=world) for r in range(world)]
    ranks = [_labels(r) for r in readers]
    for labels in ranks:
        assert mean_distinct_classes(labels) >= 0.9 * iid_distinct_classes([PER_CLASS] * CLASSES,
                                                                            per_rank)
    global_batches = [np.concatenate(step) for step in zip(*ranks, strict=True)]
    assert mean_distinct_classes(global_batches) >= 0.9 * iid_distinct_classes(
        [PER_CLASS] * CLASSES, 128)
    # Exact resume: a reader started at step s hands out the uninterrupted run's batch s.
    resumed = TrainingReader(str(sorted_tree_dataset), "train", per_rank, seed=5,
                             rank=world - 1, world_size=world, start_step=7)
    again = next(iter(resumed))
    uninterrupted = list(itertools.islice(iter(readers[-1]), 8))[7]
    assert torch.equal(again.index, uninterrupted.index)
    assert torch.equal(again.images, uninterrupted.images)


@pytest.mark.parametrize("world", [1, 4])
def test_labelled_only_batches_mix_classes(sorted_tree_dataset, world):
    manifest = read_manifest(open_location(str(sorted_tree_dataset)))
    per_class = manifest.mask("train", 0.25, 2).per_class
    per_rank = 64 // world
    ranks = [_labels(TrainingReader(str(sorted_tree_dataset), "train", per_rank, seed=1,
                                    rank=r, world_size=world, labelled_only=True,
                                    mask=(0.25, 2)), steps=8) for r in range(world)]
    for labels in ranks:
        assert mean_distinct_classes(labels) >= 0.9 * iid_distinct_classes(per_class, per_rank)
    global_batches = [np.concatenate(step) for step in zip(*ranks, strict=True)]
    assert mean_distinct_classes(global_batches) >= 0.9 * iid_distinct_classes(per_class, 64)
