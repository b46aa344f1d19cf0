"""Pretraining batches: B images read without their labels plus batch − B labelled ones.

Paper section 4: "batch 2048 = B unlabelled + (2048 − B) labelled, B = 1536" for S²L (eq. 2).
With no labelled image (rotation pretraining, eq. 1) the whole batch is unlabelled.

``reader_batches`` is what ``s3gan pretrain`` and the ``pretrain`` stage train on: they stream
from the shards like GAN training (``TrainingReader``), so memory does not grow with the split,
and each of ``world`` replicas reads its own share of every global batch. The B part reads the
whole split with its labels hidden (eq. 2's first expectation is over the whole set); the
labelled part is a ``labelled_only`` reader of the k% mask, which cycles epoch after epoch. An
epoch is one pass of the B part over the split.

``mixed_batches`` draws the same composition from in-memory tensors (scripts/).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from s3gan.data.batch import Batch
from s3gan.data.reader import TrainingReader
from s3gan.spec.model import ExperimentSpec


def steps_per_epoch(unlabelled_images: int, unlabelled_per_batch: int) -> int:
    steps = unlabelled_images // unlabelled_per_batch
    if steps < 1:
        raise ValueError(
            f"pretraining.unlabelledPerBatch ({unlabelled_per_batch}) exceeds the "
            f"{unlabelled_images} unlabelled images"
        )
    return steps


def mixed_batches(
    images: torch.Tensor,
    labels: torch.Tensor,
    labelled: torch.Tensor,
    batch_size: int,
    unlabelled_per_batch: int,
    seed: int,
) -> Iterator[Batch]:
    """Endless batches from in-memory ``images`` uint8 [N, 3, H, W], ``labels`` int64 [N] and
    the labelled mask ``labelled`` bool [N]: ``unlabelled_per_batch`` images from outside the
    mask first, then ``batch_size − unlabelled_per_batch`` from inside it."""
    if not len(images) == len(labels) == len(labelled):
        raise ValueError("images, labels and labelled mask must have one row per image")
    generator = torch.Generator().manual_seed(seed)
    unlabelled_index = torch.nonzero(~labelled).squeeze(1)
    labelled_index = torch.nonzero(labelled).squeeze(1)
    labelled_per_batch = batch_size - unlabelled_per_batch
    if labelled_per_batch > 0 and len(labelled_index) == 0:
        raise ValueError("batches call for labelled images but the labelled mask is empty")
    steps = steps_per_epoch(len(unlabelled_index), unlabelled_per_batch)
    labelled_stream = _cycle(labelled_index, generator)
    while True:
        order = unlabelled_index[torch.randperm(len(unlabelled_index), generator=generator)]
        for step in range(steps):
            chosen = order[step * unlabelled_per_batch : (step + 1) * unlabelled_per_batch]
            if labelled_per_batch > 0:
                extra = torch.stack([next(labelled_stream) for _ in range(labelled_per_batch)])
                chosen = torch.cat([chosen, extra])
            yield Batch(images[chosen], labels[chosen], chosen, labelled[chosen])


def _cycle(index: torch.Tensor, generator: torch.Generator) -> Iterator[torch.Tensor]:
    while len(index):
        yield from index[torch.randperm(len(index), generator=generator)]


def reader_batches(spec: ExperimentSpec, rank: int = 0,
                   world: int = 1) -> tuple[Iterator[Batch], int]:
    """Endless per-replica pretraining batches for ``rank`` of ``world`` (each holds
    1/``world`` of the global batch's B and labelled parts) and the steps in an epoch."""
    p, split, seed = spec.pretraining, spec.dataset.train_split, spec.seeds.pretraining
    objective = spec.traits.pretraining
    unlabelled = p.unlabelled_per_batch if objective == "s2l" else p.batch_size
    for name, count in (("batchSize", p.batch_size), ("unlabelledPerBatch", unlabelled)):
        if count % world:
            raise ValueError(f"pretraining.{name} ({count}) must divide evenly over the "
                             f"{world} pretraining replicas (resources.workers)")
    common = {"rank": rank, "world_size": world, "storage": spec.storage}
    whole = TrainingReader(spec.dataset.uri, split, unlabelled // world, seed, **common)
    if objective != "s2l" or p.batch_size == unlabelled:
        return (_without_labels(b) for b in whole), whole.steps_per_epoch
    labelled = TrainingReader(spec.dataset.uri, split, (p.batch_size - unlabelled) // world,
                              seed + 1, labelled_only=True,
                              mask=(spec.labels.fraction, spec.seeds.mask), **common)
    # Both readers cycle epoch after epoch: the pair never runs out.
    mixed = (_joined(_without_labels(a), b) for a, b in zip(whole, labelled, strict=False))
    return mixed, whole.steps_per_epoch


def _without_labels(batch: Batch) -> Batch:
    return Batch(batch.images, torch.full_like(batch.labels, -1), batch.index,
                 torch.zeros_like(batch.labelled))


def _joined(a: Batch, b: Batch) -> Batch:
    return Batch(torch.cat([a.images, b.images]), torch.cat([a.labels, b.labels]),
                 torch.cat([a.index, b.index]), torch.cat([a.labelled, b.labelled]))
