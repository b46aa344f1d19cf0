"""Inception Score (Salimans et al. 2016), the paper's second metric (section 4):

    IS = exp(E_x KL(p(y|x) ‖ p(y)))

computed by torch-fidelity from the classifier's logits. One score per sample set (one
split): the paper's 5 sets already give the spread, as in compare_gan.
"""

from __future__ import annotations

import torch
from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, isc_features_to_metric


def inception_score(logits: torch.Tensor) -> float:
    """IS of logits [n, classes] (softmax taken here)."""
    if logits.dim() != 2 or logits.shape[0] < 1:
        raise ValueError(f"Inception Score needs logits [n, classes], got {tuple(logits.shape)}")
    return isc_features_to_metric(logits, splits=1, shuffle=False)[KEY_METRIC_ISC_MEAN]
