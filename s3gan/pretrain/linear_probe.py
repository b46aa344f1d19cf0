"""The linear probe: multinomial logistic regression on frozen features (Kolesnikov et al.
2019's evaluation of self-supervised representations), fitted full-batch with L-BFGS on
standardised features."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class LinearProbe:
    mean: torch.Tensor  # [d], of the training features
    scale: torch.Tensor  # [d], their standard deviation (1 where constant)
    weight: torch.Tensor  # [C, d]
    bias: torch.Tensor  # [C]

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return F.linear((features - self.mean) / self.scale, self.weight, self.bias)

    def accuracy(self, features: torch.Tensor, labels: torch.Tensor) -> float:
        return (self.logits(features).argmax(dim=1) == labels).float().mean().item()


def fit_linear_probe(
    features: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    l2: float = 1e-3,
    iterations: int = 200,
) -> LinearProbe:
    """Minimises mean cross-entropy + l2/2·‖W‖² over ``features`` [N, d], ``labels`` int64 [N]."""
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(f"probe: features {tuple(features.shape)} and labels "
                         f"{tuple(labels.shape)} must be [N, d] and [N]")
    features = features.double()
    mean = features.mean(dim=0)
    scale = features.std(dim=0)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    standardised = (features - mean) / scale
    weight = torch.zeros(num_classes, features.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(num_classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=iterations,
                                  line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(F.linear(standardised, weight, bias), labels)
        loss = loss + 0.5 * l2 * weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return LinearProbe(mean.float(), scale.float(), weight.detach().float(), bias.detach().float())
