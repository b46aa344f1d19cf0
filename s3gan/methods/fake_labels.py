"""How the labels of generated images are drawn (paper Table 1, "fake labels" column):
y ~ p(y) for G(z, y) and D(G(z, y), y)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch


class FakeLabels(Protocol):
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor: ...


def _device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


@dataclass(frozen=True)
class UniformLabels:
    """p(y) uniform over the classes (BIGGAN, RANDOM LABEL, BIGGAN-k%, S²GAN, S³GAN, -CO)."""

    num_classes: int

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randint(self.num_classes, (n,), generator=generator,
                             device=_device(generator))


@dataclass(frozen=True)
class EmpiricalLabels:
    """p(y) the empirical distribution of the inferred cluster labels (CLUSTERING)."""

    probabilities: torch.Tensor  # float [C], sums to 1

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        probabilities = self.probabilities.to(_device(generator))
        return torch.multinomial(probabilities, n, replacement=True, generator=generator)


@dataclass(frozen=True)
class SingleFakeLabel:
    """SINGLE LABEL: every fake image carries label 0."""

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.zeros(n, dtype=torch.int64, device=_device(generator))
