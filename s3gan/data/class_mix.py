"""How class-mixed batches are: distinct classes per batch against an i.i.d. draw.

D sees only a batch's reals in a step, so a batch of a few classes (a reader walking a
class-sorted source) trains it on those classes alone while fakes span all of them. The
yardstick is a uniform draw of ``batch`` images without replacement from the whole split,
whose expected number of distinct classes is Σ_c 1 − C(N − n_c, b) / C(N, b) (n_c the images
of class c, N their sum): the probability that class c is not missed, summed over classes.
"""

from __future__ import annotations

from collections.abc import Iterable
from math import exp, lgamma

import numpy as np


def iid_distinct_classes(per_class: Iterable[int], batch: int) -> float:
    """Expected distinct classes in ``batch`` images drawn uniformly without replacement."""
    counts = [int(n) for n in per_class if n > 0]
    total = sum(counts)
    if not 0 < batch <= total:
        raise ValueError(f"a batch of {batch} cannot be drawn from {total} images")

    def log_choose(n: int, k: int) -> float:
        return lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)

    missed = (exp(log_choose(total - n, batch) - log_choose(total, batch))
              if total - n >= batch else 0.0 for n in counts)
    return sum(1.0 - m for m in missed)


def mean_distinct_classes(batches: Iterable[np.ndarray]) -> float:
    """Mean over ``batches`` (label arrays) of the distinct labels each holds."""
    counts = [len(np.unique(np.asarray(labels))) for labels in batches]
    if not counts:
        raise ValueError("no batches to measure")
    return float(np.mean(counts))
