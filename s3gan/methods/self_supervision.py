"""Rotation self-supervision during GAN training (paper section 3.3, eqs. 4 and 5).

The last n images of a batch (n = rotation_fraction × batch, at least 1) are appended in their
90°, 180° and 270° rotations; c_R (``D.rotation_head``) classifies the block of those n upright
images and their 3n rotations, the layout of google/compare_gan. D adds β·CE on rotated reals
(eq. 4), G adds α·CE on rotated fakes (eq. 5).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from s3gan.losses import fake_rotation_loss, real_rotation_loss
from s3gan.rotation import rotation_batch


@dataclass(frozen=True)
class RotatedInput:
    images: torch.Tensor  # the batch followed by the 3n rotated copies
    batch_size: int
    rotated: int  # n
    labels: torch.Tensor  # rotation labels of the last 4n images: [0]*n + [1]*n + [2]*n + [3]*n


@dataclass(frozen=True)
class RotationSelfSupervision:
    alpha: float  # eq. 5
    beta: float  # eq. 4
    fraction: float  # share of the batch rotated

    def rotated_count(self, batch_size: int) -> int:
        return min(batch_size, max(1, round(self.fraction * batch_size)))

    def append_rotations(self, images: torch.Tensor) -> RotatedInput:
        n = self.rotated_count(images.shape[0])
        block, labels = rotation_batch(images, n)
        return RotatedInput(torch.cat([images, block[n:]]), images.shape[0], n, labels)

    def discriminator_term(self, discriminator: nn.Module, features: torch.Tensor,
                           layout: RotatedInput) -> torch.Tensor:
        """Eq. 4 from D~ of ``layout.images`` (reals)."""
        logits, labels = self._logits(discriminator, features, layout)
        return real_rotation_loss(logits, labels, self.beta)

    def generator_term(self, discriminator: nn.Module, features: torch.Tensor,
                       layout: RotatedInput) -> torch.Tensor:
        """Eq. 5 from D~ of ``layout.images`` (fakes)."""
        logits, labels = self._logits(discriminator, features, layout)
        return fake_rotation_loss(logits, labels, self.alpha)

    @staticmethod
    def _logits(discriminator: nn.Module, features: torch.Tensor, layout: RotatedInput
                ) -> tuple[torch.Tensor, torch.Tensor]:
        block = features[layout.batch_size - layout.rotated:]  # n upright, then 3n rotated
        return discriminator.rotation_head(block), layout.labels
