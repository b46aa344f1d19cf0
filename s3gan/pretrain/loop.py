"""Single-process pretraining of F with eq. 1 (rotation) or eq. 2 (S²L).

The objective follows the method (``spec.traits.pretraining``): CLUSTERING pretrains with
rotation only, S²GAN and S³GAN with S²L on the stored k% labelled mask.

Micro-batching (``pretraining.microBatch``): eq. 2's batch of 2,048 × 4 rotations does not fit
one accelerator at the paper's F, so a replica's batch can go through F in strided micro-batches
(rows i, i + m, i + 2m, … for micro-batch i of m, so each holds the batch's mix of unlabelled and
labelled images), their gradients accumulated before one optimiser step. Each micro-batch's
rotation term is weighted by its share of the batch's images and its class term by its share of
the batch's labelled images, so the accumulated gradient is that of the whole batch's loss; only
BatchNorm's statistics are the micro-batch's (across replicas with cross-replica BatchNorm).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import torch

from s3gan.data.batch import Batch
from s3gan.nn.resnet_v2 import ResNetV2
from s3gan.pretrain.augment import augment
from s3gan.pretrain.features import to_network_input
from s3gan.pretrain.objectives import PretrainingLoss, rotation_loss, s2l_loss
from s3gan.pretrain.schedule import build_optimizer, total_steps
from s3gan.spec.model import Pretraining
from s3gan.train.precision import autocast, decided

Objective = Literal["rotation", "s2l"]


@dataclass(frozen=True)
class StepRecord:
    step: int
    learning_rate: float
    loss: float
    rotation: float
    classification: float | None
    rotation_accuracy: float


def pretrain(
    f: ResNetV2,
    objective: Objective,
    batches: Iterator[Batch],
    p: Pretraining,
    steps_per_epoch: int,
    device: torch.device | str,
    on_step: Callable[[StepRecord], None] | None = None,
) -> list[StepRecord]:
    """Trains ``f`` in place for ``p.epochs`` epochs of ``steps_per_epoch`` steps each
    (``total_steps``: a fractional epoch ends part-way through the split).

    B in the learning rate (base·B/256) is the batch's count of images not read for their label:
    ``p.unlabelled_per_batch`` for S²L, the whole batch for rotation.
    """
    if objective not in ("rotation", "s2l"):
        raise ValueError(f"pretraining objective must be 'rotation' or 's2l', got {objective!r}")
    unlabelled = p.unlabelled_per_batch if objective == "s2l" else p.batch_size
    device = torch.device(device)
    precision = decided(p.precision, "cpu" if device.type == "cpu" else device.type, device)
    f.to(device).train()
    optimizer, schedule = build_optimizer(f, p, unlabelled, steps_per_epoch)
    history = []
    for step in range(total_steps(p, steps_per_epoch)):
        batch = next(batches).to(device)
        optimizer.zero_grad(set_to_none=True)
        with autocast(precision, device):
            record = _accumulate(f, objective, batch, p, step)
        record = StepRecord(**{**record.__dict__,
                               "learning_rate": optimizer.param_groups[0]["lr"]})
        optimizer.step()
        schedule.step()
        history.append(record)
        if on_step is not None:
            on_step(record)
    return history


def micro_batches(batch: Batch, size: int | None) -> list[Batch]:
    """``batch`` in strided parts of at most ``size`` images (one part when ``size`` is None)."""
    parts = 1 if size is None else -(-len(batch) // size)
    return [Batch(*(t[i::parts] for t in (batch.images, batch.labels, batch.index,
                                           batch.labelled))) for i in range(parts)]


def _accumulate(f: ResNetV2, objective: Objective, batch: Batch, p: Pretraining,
                step: int) -> StepRecord:
    """Backward of the whole batch's loss, micro-batch by micro-batch; the step's record."""
    labelled = max(1, int(batch.labelled.sum()))
    rotation = classification = accuracy = 0.0
    for part in micro_batches(batch, p.micro_batch):
        loss = _loss(f, objective, part, p)
        share, labelled_share = len(part) / len(batch), int(part.labelled.sum()) / labelled
        weighted = share * loss.rotation
        if loss.classification is not None:
            weighted = weighted + p.gamma * labelled_share * loss.classification
            classification += labelled_share * loss.classification.item()
        weighted.backward()
        rotation += share * loss.rotation.item()
        accuracy += share * loss.rotation_accuracy
    has_class = objective == "s2l"
    return StepRecord(step=step, learning_rate=0.0,
                      loss=rotation + (p.gamma * classification if has_class else 0.0),
                      rotation=rotation, classification=classification if has_class else None,
                      rotation_accuracy=accuracy)


def _loss(f: ResNetV2, objective: Objective, batch: Batch, p: Pretraining) -> PretrainingLoss:
    images = augment(to_network_input(batch.images, batch.images.device), p.augment)
    if objective == "rotation":
        return rotation_loss(f, images)
    return s2l_loss(f, images, batch.labels, batch.labelled, p.gamma)
