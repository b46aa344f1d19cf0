"""How real images get the label D's projection sees (paper Table 1, "real images" column).

Each strategy maps a batch (and, for co-training, D's features of it) to ``LabelledReals``:
the labels for ``D.adversarial`` — int64 class indices [N] or float soft labels [N, C] — and
any loss terms the labelling itself adds to D (eq. 3's classifier term, in ``co_training``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import nn

from s3gan.data.batch import Batch
from s3gan.methods.inferred_labels import InferredLabels


@dataclass(frozen=True)
class LabelledReals:
    labels: torch.Tensor  # int64 [N] or float [N, C]
    terms: dict[str, torch.Tensor] = field(default_factory=dict)


class RealLabels(Protocol):
    def __call__(self, batch: Batch, features: torch.Tensor, discriminator: nn.Module
                 ) -> LabelledReals: ...


def _require_known(labels: torch.Tensor, method: str) -> torch.Tensor:
    if bool((labels < 0).any()):
        raise ValueError(
            f"{method} reads ground-truth labels, but the batch holds images without one "
            "(label -1): read only the labelled subset or choose a method that infers labels"
        )
    return labels


@dataclass(frozen=True)
class GroundTruth:
    """BIGGAN and BIGGAN-k%: every real image carries its dataset label."""

    def __call__(self, batch: Batch, features: torch.Tensor, discriminator: nn.Module
                 ) -> LabelledReals:
        return LabelledReals(_require_known(batch.labels, "the ground-truth labelling"))


@dataclass(frozen=True)
class SingleLabel:
    """SINGLE LABEL: the same label (0) for every image; D has no projection to read it."""

    def __call__(self, batch: Batch, features: torch.Tensor, discriminator: nn.Module
                 ) -> LabelledReals:
        return LabelledReals(torch.zeros_like(batch.labels))


# A fixed integer hash (Thomas Mueller's 32-bit mix): constants below 2**27 keep every
# product under 2**59, so int64 arithmetic never overflows on any device.
_MIX = 0x45D9F3B
_MASK32 = 0xFFFFFFFF
_GOLDEN32 = 0x9E3779B1


def _mix32(x: torch.Tensor) -> torch.Tensor:
    x = ((x >> 16) ^ x) * _MIX & _MASK32
    x = ((x >> 16) ^ x) * _MIX & _MASK32
    return (x >> 16) ^ x


@dataclass(frozen=True)
class RandomLabel:
    """RANDOM LABEL: each real image is assigned a uniformly random label, fixed for the run.

    The label is a hash of the image's stable index and the seed, as if read from a label file
    of random labels: no table to store, identical on every worker and after every resume.
    """

    num_classes: int
    seed: int

    def __call__(self, batch: Batch, features: torch.Tensor, discriminator: nn.Module
                 ) -> LabelledReals:
        keyed = (batch.index + (self.seed * _GOLDEN32 & _MASK32)) & _MASK32
        return LabelledReals(_mix32(_mix32(keyed)) % self.num_classes)


@dataclass(frozen=True)
class InferredTable:
    """CLUSTERING and S²GAN: ŷ(x) read from labels inferred before training.

    A hard table gives class indices; a soft one projects with the stored class probabilities
    (paper Table 5's "S²GAN + soft labels").
    """

    inferred: InferredLabels

    def __call__(self, batch: Batch, features: torch.Tensor, discriminator: nn.Module
                 ) -> LabelledReals:
        labels = self.inferred.lookup(batch.index)
        return LabelledReals(labels.to(features.dtype) if self.inferred.soft else labels)
