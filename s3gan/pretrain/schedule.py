"""F's optimiser: SGD with the paper's learning-rate schedule (section 4, "pre-training").

    lr(step) = base · B / 256 · warmup(step) · decay_factor^(#decay epochs passed)

B is the number of UNLABELLED images per batch (paper: B = 1536 of 2048, so 0.1·1536/256 =
0.6); with the rotation objective (eq. 1) no image is read for its label and B is the whole
batch. The warm-up rises linearly over ``warmup_epochs`` (Goyal et al. 2017, which the paper
follows), and the rate is divided by 1/decay_factor (10) at each decay epoch. The schedule is a
``LambdaLR`` stepped once per optimiser step. Weight decay applies to convolution and linear
kernels only, not to BatchNorm's scale and shift or to biases (the usual ResNet convention;
the paper is silent).
"""

from __future__ import annotations

import bisect

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from s3gan.spec.model import Pretraining

REFERENCE_BATCH = 256  # Goyal et al. 2017: lr scales with batch / 256


def peak_learning_rate(p: Pretraining, unlabelled_per_batch: int) -> float:
    return p.base_learning_rate * unlabelled_per_batch / REFERENCE_BATCH


def total_steps(p: Pretraining, steps_per_epoch: int) -> int:
    """Optimiser steps of pretraining: ``epochs`` (possibly a fraction) of ``steps_per_epoch``."""
    return max(1, round(p.epochs * steps_per_epoch))


def learning_rate_factor(p: Pretraining, steps_per_epoch: int):
    """step → multiple of the peak rate: linear warm-up, then ÷10 at each decay epoch."""
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be positive, got {steps_per_epoch}")
    warmup_steps = round(p.warmup_epochs * steps_per_epoch)
    decay_steps = sorted(round(e * steps_per_epoch) for e in p.decay_epochs)

    def factor(step: int) -> float:
        warmup = min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0
        return warmup * p.decay_factor ** bisect.bisect_right(decay_steps, step)

    return factor


def build_optimizer(
    f: nn.Module, p: Pretraining, unlabelled_per_batch: int, steps_per_epoch: int
) -> tuple[torch.optim.SGD, LambdaLR]:
    """SGD with momentum and weight decay from ``p``, and its per-step schedule."""
    kernels = [m.weight for m in f.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    kernel_ids = {id(w) for w in kernels}
    others = [w for w in f.parameters() if id(w) not in kernel_ids]
    optimizer = torch.optim.SGD(
        [{"params": kernels, "weight_decay": p.weight_decay},
         {"params": others, "weight_decay": 0.0}],
        lr=peak_learning_rate(p, unlabelled_per_batch),
        momentum=p.momentum,
    )
    return optimizer, LambdaLR(optimizer, learning_rate_factor(p, steps_per_epoch))
