"""Single-process pretraining of F with eq. 1 (rotation) or eq. 2 (S²L).

The objective follows the method (``spec.traits.pretraining``): CLUSTERING pretrains with
rotation only, S²GAN and S³GAN with S²L on the stored k% labelled mask.
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
from s3gan.pretrain.schedule import build_optimizer
from s3gan.spec.model import Pretraining

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
    """Trains ``f`` in place for ``p.epochs`` epochs of ``steps_per_epoch`` steps each.

    B in the learning rate (base·B/256) is the batch's count of images not read for their label:
    ``p.unlabelled_per_batch`` for S²L, the whole batch for rotation.
    """
    if objective not in ("rotation", "s2l"):
        raise ValueError(f"pretraining objective must be 'rotation' or 's2l', got {objective!r}")
    unlabelled = p.unlabelled_per_batch if objective == "s2l" else p.batch_size
    f.to(device).train()
    optimizer, schedule = build_optimizer(f, p, unlabelled, steps_per_epoch)
    history = []
    for step in range(p.epochs * steps_per_epoch):
        batch = next(batches).to(device)
        loss = _loss(f, objective, batch, p)
        optimizer.zero_grad(set_to_none=True)
        loss.total.backward()
        record = StepRecord(
            step=step,
            learning_rate=optimizer.param_groups[0]["lr"],
            loss=loss.total.item(),
            rotation=loss.rotation.item(),
            classification=None if loss.classification is None else loss.classification.item(),
            rotation_accuracy=loss.rotation_accuracy,
        )
        optimizer.step()
        schedule.step()
        history.append(record)
        if on_step is not None:
            on_step(record)
    return history


def _loss(f: ResNetV2, objective: Objective, batch: Batch, p: Pretraining) -> PretrainingLoss:
    images = augment(to_network_input(batch.images, batch.images.device), p.augment)
    if objective == "rotation":
        return rotation_loss(f, images)
    return s2l_loss(f, images, batch.labels, batch.labelled, p.gamma)
