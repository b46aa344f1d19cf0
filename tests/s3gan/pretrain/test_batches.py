"""Pretraining batches: B unlabelled images, then batch − B labelled ones."""

import pytest
import torch

from s3gan.pretrain.batches import mixed_batches, steps_per_epoch


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
