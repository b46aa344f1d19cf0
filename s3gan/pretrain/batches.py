"""Pretraining batches: B images read without their labels plus batch − B labelled ones.

Paper section 4: "batch 2048 = B unlabelled + (2048 − B) labelled, B = 1536" for S²L (eq. 2).
An epoch is one pass over the unlabelled images; the labelled subset, much smaller, is cycled
with a fresh order each time it runs out. With no labelled image (rotation pretraining, eq. 1)
the whole batch is unlabelled.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from s3gan.data.batch import Batch


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
