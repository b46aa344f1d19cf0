"""The two pretraining objectives of the feature extractor F (paper section 3.1).

Eq. 1, rotation (Gidaris et al. 2018), for the CLUSTERING methods:

    L_R = -1/|R| Σ_{r∈R} E_x[log p(c_R(F(x^r)) = r)],   R = {0°, 90°, 180°, 270°}

Eq. 2, semi-supervised (S²L), for S²GAN and S³GAN; the first expectation runs over every image
of the batch, the second over its labelled images only, both in all four rotations:

    L_S2L = -1/|R| Σ_{r∈R} { E_x[log p(c_R(F(x^r)) = r)] + γ E_(x,y)[log p(c_S2L(F(x^r)) = y)] }

All 4N rotated images go through F in one forward pass, so BatchNorm normalises the four
rotations of a batch together.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from s3gan.nn.resnet_v2 import ResNetV2
from s3gan.rotation import NUM_ROTATIONS, rotation_batch, rotation_cross_entropy


@dataclass(frozen=True)
class PretrainingLoss:
    total: torch.Tensor
    rotation: torch.Tensor  # eq. 1's term (c_R cross-entropy over the four rotations)
    classification: torch.Tensor | None  # eq. 2's class term before γ; None for eq. 1
    rotation_accuracy: float  # share of rotated images whose rotation c_R gets right


def rotation_loss(f: ResNetV2, images: torch.Tensor) -> PretrainingLoss:
    """Eq. 1 on ``images`` [N, 3, H, W] (float, as F takes them)."""
    rotation, _, accuracy = _rotation_term(f, images)
    return PretrainingLoss(rotation, rotation, None, accuracy)


def s2l_loss(
    f: ResNetV2, images: torch.Tensor, labels: torch.Tensor, labelled: torch.Tensor, gamma: float
) -> PretrainingLoss:
    """Eq. 2 on ``images``; ``labels`` int64 [N] count only where ``labelled`` (bool [N])."""
    if f.class_head is None:
        raise ValueError("S²L pretraining (eq. 2) needs F built with num_classes (c_S2L)")
    rotation, features, accuracy = _rotation_term(f, images)
    labelled_rows = labelled.repeat(NUM_ROTATIONS)
    if not labelled_rows.any():
        classification = features.new_zeros(())
    else:
        logits = f.class_head(features[labelled_rows]).float()  # fp32 loss under autocast
        classification = F.cross_entropy(logits, labels.repeat(NUM_ROTATIONS)[labelled_rows])
    return PretrainingLoss(rotation + gamma * classification, rotation, classification, accuracy)


def _rotation_term(f: ResNetV2, images: torch.Tensor):
    rotated, targets = rotation_batch(images, images.shape[0])
    features = f.features(rotated)
    logits = f.rotation_head(features).float()
    accuracy = (logits.argmax(dim=1) == targets).float().mean().item()
    return rotation_cross_entropy(logits, targets), features, accuracy
