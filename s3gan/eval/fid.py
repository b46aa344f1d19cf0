"""Fréchet Inception Distance (Heusel et al. 2017), the paper's quality metric (section 4):

    FID = ||μx − μg||² + Tr(Σx + Σg − 2(Σx Σg)^½)

with μ, Σ the mean and covariance of the network's pool features over real (x) and
generated (g) images. Both steps are torch-fidelity's own functions, so our numbers are
torch-fidelity's for the same features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch_fidelity.metric_fid import (
    KEY_METRIC_FID,
    fid_features_to_statistics,
    fid_statistics_to_metric,
)


@dataclass(frozen=True)
class Statistics:
    """μ [d] and Σ [d, d] of one image set's features."""

    mu: np.ndarray
    sigma: np.ndarray

    def __post_init__(self):
        d = self.mu.shape[0] if self.mu.ndim == 1 else -1
        if d < 1 or self.sigma.shape != (d, d):
            raise ValueError(f"FID statistics: mu {self.mu.shape} and sigma {self.sigma.shape} "
                             "must be [d] and [d, d]")


def statistics(features: torch.Tensor) -> Statistics:
    """μ and Σ of features [n, d]; Σ needs n ≥ 2."""
    if features.dim() != 2 or features.shape[0] < 2:
        raise ValueError(f"FID statistics need features [n ≥ 2, d], got {tuple(features.shape)}")
    stats = fid_features_to_statistics(features)
    return Statistics(stats["mu"], stats["sigma"])


def frechet_distance(real: Statistics, generated: Statistics) -> float:
    if real.mu.shape != generated.mu.shape:
        raise ValueError(f"FID: real features are {real.mu.shape[0]}-d, "
                         f"generated {generated.mu.shape[0]}-d")
    pair = ({"mu": s.mu, "sigma": s.sigma} for s in (real, generated))
    return fid_statistics_to_metric(*pair, verbose=False)[KEY_METRIC_FID]
