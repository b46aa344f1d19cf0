"""Intra-class FID (Miyato & Koyama 2018, "cGANs with Projection Discriminator", section 5.1):
does G draw each class's own distribution, not only a good mixture of them?

    intra-FID = 1/C Σ_c  FID(real images of class c, images generated for class c)

each term the FID of ``s3gan.eval.fid`` on the features of one class. The real side is the
evaluation split's images grouped by their true label (their features are cached with the real
statistics, ``s3gan.eval.real_stats``); the generated side is the FID set's own samples grouped
by the label G was asked for, so no extra images are generated or run through Inception.

Like FID, each term is biased upward the fewer images it sees (the bias grows like 1/n): at
around 100 images per class it is far above its large-sample value, and two runs' intra-FIDs
are only comparable at equal per-class counts. It is measured only where every class has at
least ``MIN_SAMPLES_PER_CLASS`` images on both sides, and only where G's label y means dataset
class y.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import fmean

import numpy as np
import torch

from s3gan.eval.fid import frechet_distance, statistics

# A class's Σ from n images has rank ≤ n − 1 out of d (2048 for Inception): below ~50 the term
# says more about n than about G. 50 is also what ImageNet's validation split holds per class,
# so the paper-scale protocol is still measured there.
MIN_SAMPLES_PER_CLASS = 50


class NotMeasurable(ValueError):
    """Intra-class FID cannot be measured here; the message says why."""


@dataclass(frozen=True)
class IntraClassFid:
    """Per-class FIDs (mean over sample sets) with the image counts they rest on."""

    per_class: tuple[float, ...]
    generated_per_class: tuple[int, ...]  # fewest samples of the class in any one set
    real_per_class: tuple[int, ...]

    @property
    def score(self) -> float:
        return fmean(self.per_class)

    def as_record(self) -> dict:
        return {"intraClassFid": self.score,
                "intraClassFidPerClass": list(self.per_class),
                "intraClassFidGeneratedPerClass": list(self.generated_per_class),
                "intraClassFidRealPerClass": list(self.real_per_class),
                "intraClassFidMinimumPerClass": MIN_SAMPLES_PER_CLASS}

    @staticmethod
    def over_sets(sets: list[IntraClassFid]) -> IntraClassFid:
        """The protocol's mean over sample sets, class by class."""
        if not sets:
            raise ValueError("intra-class FID: no sample sets")
        return IntraClassFid(tuple(fmean(s.per_class[c] for s in sets)
                                   for c in range(len(sets[0].per_class))),
                             tuple(min(s.generated_per_class[c] for s in sets)
                                   for c in range(len(sets[0].per_class))),
                             sets[0].real_per_class)


def not_measured_record(reason: str) -> dict:
    return {"intraClassFidNotMeasured": reason}


def class_counts(labels: np.ndarray | torch.Tensor, num_classes: int) -> tuple[int, ...]:
    """Images per class 0..num_classes − 1 (labels outside that range are not counted)."""
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
    inside = labels[(labels >= 0) & (labels < num_classes)]
    return tuple(torch.bincount(inside, minlength=num_classes).tolist())


def check_counts(what: str, counts: tuple[int, ...]) -> None:
    """NotMeasurable when a class has fewer than ``MIN_SAMPLES_PER_CLASS`` images."""
    fewest = min(range(len(counts)), key=counts.__getitem__)
    if counts[fewest] < MIN_SAMPLES_PER_CLASS:
        raise NotMeasurable(f"class {fewest} has {counts[fewest]} {what} images, fewer than "
                            f"{MIN_SAMPLES_PER_CLASS}")


def intra_class_fid(real_features: torch.Tensor, real_labels: torch.Tensor,
                    generated_features: torch.Tensor, generated_labels: torch.Tensor,
                    num_classes: int) -> IntraClassFid:
    """One sample set's per-class FIDs: features [n, d] with their labels [n] on each side."""
    if num_classes < 1:
        raise ValueError(f"intra-class FID: need at least one class, got {num_classes}")
    real_labels = torch.as_tensor(np.asarray(real_labels), dtype=torch.int64)
    generated_labels = torch.as_tensor(generated_labels, dtype=torch.int64).cpu()
    real_counts = class_counts(real_labels, num_classes)
    generated_counts = class_counts(generated_labels, num_classes)
    check_counts("real", real_counts)
    check_counts("generated", generated_counts)
    # One class's Σ pair at a time: C of them at once would be C·d² (16 GB at ImageNet's).
    per_class = tuple(frechet_distance(statistics(real_features[real_labels == c]),
                                       statistics(generated_features[generated_labels == c]))
                      for c in range(num_classes))
    return IntraClassFid(per_class, generated_counts, real_counts)
