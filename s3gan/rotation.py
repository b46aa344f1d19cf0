"""Rotation self-supervision: rotated copies, their labels and the rotation cross-entropy.

Shared by the feature extractor's pretraining (paper eqs. 1 and 2: every image in all four
rotations) and by D's auxiliary head during GAN training (eqs. 4 and 5: the last n images of a
batch, laid out as google/compare_gan's ``merge_with_rotation_data`` does).
"""

from __future__ import annotations

import torch

NUM_ROTATIONS = 4  # R = {0°, 90°, 180°, 270°}
_LOG_EPSILON = 1e-10  # compare_gan: log(softmax + 1e-10)


def rotate(x: torch.Tensor, k: int) -> torch.Tensor:
    """Rotates images ``x`` [N, C, H, W] by k·90° counter-clockwise in the (H, W) plane."""
    return torch.rot90(x, k, dims=(-2, -1))


def rotation_batch(x: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The last n images of ``x`` followed by their 90°, 180° and 270° rotations, with labels.

    Layout (compare_gan): ``[x[-n:], rot90(x[-n:]), rot180(x[-n:]), rot270(x[-n:])]``, 4n images,
    labels ``[0]*n + [1]*n + [2]*n + [3]*n`` (int64 on x's device).
    """
    if not 1 <= n <= x.shape[0]:
        raise ValueError(f"rotation_batch: n must be in [1, {x.shape[0]}] (the batch), got {n}")
    block = x[-n:]
    rotated = torch.cat([rotate(block, k) for k in range(NUM_ROTATIONS)])
    labels = torch.arange(NUM_ROTATIONS, device=x.device).repeat_interleave(n)
    return rotated, labels


def rotation_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """-mean_i log(softmax(logits_i)[labels_i] + 1e-10), written as compare_gan writes it.

    Averaging over a block holding every rotation n times is the 1/|R| Σ_r E_x of eqs. 1, 4, 5.
    """
    probabilities = torch.softmax(logits, dim=1,
                                  dtype=torch.promote_types(logits.dtype, torch.float32))
    picked = probabilities.gather(1, labels.unsqueeze(1)).squeeze(1)
    return -torch.log(picked + _LOG_EPSILON).mean()
