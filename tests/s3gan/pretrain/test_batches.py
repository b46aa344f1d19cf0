"""Pretraining batches: B unlabelled images, then batch − B labelled ones; from the shards,
class-mixed, per replica."""

import itertools

import numpy as np
import pytest
import torch

from s3gan.data.class_mix import iid_distinct_classes, mean_distinct_classes
from s3gan.data.manifest import read_manifest
from s3gan.data.masks import split_labels
from s3gan.data.storage import open_location
from s3gan.pretrain.batches import mixed_batches, reader_batches, steps_per_epoch
from s3gan.spec import parse_experiment
from tests.fixtures.datasets import class_sorted_dataset


def _data(n=40, labelled_every=4):
    images = torch.arange(n, dtype=torch.uint8).reshape(n, 1, 1, 1).expand(n, 3, 2, 2)
    labels = torch.arange(n) % 10
    labelled = torch.arange(n) % labelled_every == 0
    return images, labels, labelled


def test_batches_put_unlabelled_first_and_labelled_last():
    images, labels, labelled = _data()
    batch = next(mixed_batches(images, labels, labelled, 8, 6, seed=0))
    assert len(batch) == 8
    assert not batch.labelled[:6].any() and batch.labelled[6:].all()
    assert torch.equal(batch.images[:, 0, 0, 0].long(), batch.index)
    assert torch.equal(batch.labels, labels[batch.index])


def test_an_epoch_reads_every_unlabelled_image_once_and_is_seeded():
    images, labels, labelled = _data()
    steps = steps_per_epoch(int((~labelled).sum()), 6)
    assert steps == 5
    stream = mixed_batches(images, labels, labelled, 8, 6, seed=3)
    epoch = [next(stream) for _ in range(steps)]
    seen = torch.cat([b.index[:6] for b in epoch])
    assert sorted(seen.tolist()) == torch.nonzero(~labelled).squeeze(1).tolist()
    again = mixed_batches(images, labels, labelled, 8, 6, seed=3)
    assert all(torch.equal(next(again).index, b.index) for b in epoch)


def test_rotation_batches_are_all_unlabelled():
    images, labels, _ = _data()
    batch = next(mixed_batches(images, labels, torch.zeros(40, dtype=torch.bool), 8, 8, seed=0))
    assert len(batch) == 8 and not batch.labelled.any()


def test_bad_requests_are_named():
    images, labels, labelled = _data()
    with pytest.raises(ValueError, match="unlabelledPerBatch"):
        next(mixed_batches(images, labels, labelled, 64, 64, seed=0))
    with pytest.raises(ValueError, match="labelled mask is empty"):
        next(mixed_batches(images, labels, torch.zeros(40, dtype=torch.bool), 8, 6, seed=0))
    with pytest.raises(ValueError, match="one row per image"):
        next(mixed_batches(images, labels[:3], labelled, 8, 6, seed=0))


@pytest.fixture(scope="module")
def sorted_tree_dataset(tmp_path_factory):
    return class_sorted_dataset(tmp_path_factory.mktemp("s2l-mix"))


def _s2l_spec(uri, workers=1):
    return parse_experiment({
        "apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
        "metadata": {"name": "s2l-batches"},
        "spec": {"method": "s2gan", "labels": {"fraction": 0.25},
                 "seeds": {"mask": 2},
                 "dataset": {"uri": str(uri), "resolution": 32, "numClasses": 40},
                 "pretraining": {"batchSize": 128, "unlabelledPerBatch": 96},
                 "resources": {"workers": workers}},
    }).spec


@pytest.mark.parametrize("world", [1, 4])
def test_s2l_reader_batches_mix_classes_and_hide_the_b_parts_labels(sorted_tree_dataset, world):
    spec = _s2l_spec(sorted_tree_dataset, world)
    manifest = read_manifest(open_location(str(sorted_tree_dataset)))
    labelled_counts = manifest.mask("train", 0.25, 2).per_class
    shares = [list(itertools.islice(reader_batches(spec, r, world)[0], 8)) for r in range(world)]
    b, labelled = 96 // world, 32 // world
    for batches in shares:
        assert all(len(x) == b + labelled for x in batches)
        assert all(not x.labelled[:b].any() and (x.labels[:b] == -1).all() for x in batches)
        assert all(x.labelled[b:].all() for x in batches)
        truth = [manifest_truth(sorted_tree_dataset, x.index[:b]) for x in batches]
        assert mean_distinct_classes(truth) >= 0.9 * iid_distinct_classes(
            manifest.per_class["train"], b)
        assert mean_distinct_classes(x.labels[b:].numpy() for x in batches) >= (
            0.9 * iid_distinct_classes(labelled_counts, labelled))
    steps = list(zip(*shares, strict=True))
    assert mean_distinct_classes(np.concatenate([x.labels[b:].numpy() for x in step])
                                 for step in steps) >= 0.9 * iid_distinct_classes(
                                     labelled_counts, 32)
    if world > 1:  # replicas read disjoint shares of each global batch
        first = [set(x.index.tolist()) for x in steps[0]]
        assert not set.intersection(*first)


def test_s2l_reader_refuses_a_batch_that_does_not_split_over_the_replicas(sorted_tree_dataset):
    with pytest.raises(ValueError, match=r"pretraining.batchSize \(128\) must divide evenly "
                                         "over the 5 pretraining replicas"):
        reader_batches(_s2l_spec(sorted_tree_dataset), 0, 5)


def manifest_truth(uri, index):
    """Ground-truth classes of stored images (the B part's labels are hidden from training)."""
    location = open_location(str(uri))
    stored, labels = split_labels(location, read_manifest(location), "train")
    return labels[np.argsort(stored)][index.numpy()]  # every stable index is stored
