"""The discriminator's heads on its pooled representation h = D~(x).

- ``c_rf``: the real/fake logit, a linear map h → 1 with bias.
- ``P``: the projection discriminator (Miyato & Koyama 2018), P(h, y) = hᵀ W y, so that
  D(x, y) = c_rf(h) + P(h, y) (paper section 2). y is a class index or, for soft labels
  (S²GAN-CO, eq. 3), a probability vector. W is Glorot-normal initialised as in compare_gan.
- ``c_R``: the rotation classifier, h → 4 with bias (eqs. 4–5).
- ``c_CT``: the co-training class predictor, h → C with bias (eq. 3).
All are spectrally normalised when D is (compare_gan's ``S3GAN.discriminator``). SINGLE
LABEL drops the projection: D(x) = c_rf(D~(x)).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from s3gan.nn.layers import Layers

NUM_ROTATIONS = 4  # R = {0°, 90°, 180°, 270°}


@dataclass(frozen=True)
class HeadSet:
    """Which heads D carries besides c_rf."""

    projection: bool = True
    rotation: bool = False
    classifier: bool = False


class Projection(nn.Module):
    def __init__(self, num_classes: int, features: int, layers: Layers):
        super().__init__()
        self.num_classes = num_classes
        embedding = nn.Embedding(num_classes, features)
        nn.init.xavier_normal_(embedding.weight)
        self.embedding = layers.normalised(embedding)

    def forward(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """h [N, F] and y int64 [N] or float [N, C] → P(h, y) [N]."""
        if y.is_floating_point():
            if y.shape != (h.shape[0], self.num_classes):
                raise ValueError(f"soft labels must be [{h.shape[0]}, {self.num_classes}], "
                                 f"got {list(y.shape)}")
            embedded = y @ self.embedding.weight
        else:
            if y.shape != (h.shape[0],):
                raise ValueError(f"class labels must be [{h.shape[0]}], got {list(y.shape)}")
            embedded = self.embedding(y)
        return (embedded * h).sum(dim=1)
