"""The paper's evaluation protocol (section 4): FID and IS on ``sets`` independent sets of
``samples_per_set`` generated images (5 × 50k in the paper), the mean over sets reported.

The generator reaches this module only as ``generate(n) → uint8 [n, 3, H, W]``: the pipeline
plugs in the EMA generator with standing BatchNorm statistics, tests plug in anything. Asked for
the intra-class FID (``s3gan.eval.intra_fid``) too, ``generate(n)`` also returns the labels G was
asked for, and each set's own samples are grouped by them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from statistics import fmean

import torch

from s3gan.eval.features import FeatureNetwork, check_images
from s3gan.eval.fid import frechet_distance, statistics
from s3gan.eval.inception_score import inception_score
from s3gan.eval.intra_fid import IntraClassFid, NotMeasurable, intra_class_fid, not_measured_record
from s3gan.eval.real_stats import RealStats
from s3gan.monitor.progress import ProgressLine, tracked

UNAVAILABLE = "unavailable"  # IS with weights that carry no classifier


@dataclass(frozen=True)
class Scores:
    network: str
    samples_per_set: int
    fid_per_set: tuple[float, ...]
    inception_score_per_set: tuple[float, ...] | None  # None: unavailable with these weights
    intra_class_fid: IntraClassFid | None = None
    intra_class_fid_not_measured: str | None = None  # why, when it was asked for

    @property
    def fid(self) -> float:
        return fmean(self.fid_per_set)

    @property
    def inception_score(self) -> float | None:
        return fmean(self.inception_score_per_set) if self.inception_score_per_set else None

    def as_record(self) -> dict:
        """JSON-ready, with the spec's camelCase names; IS says ``"unavailable"`` rather than
        a number it could not measure."""
        return {
            "network": self.network,
            "samplesPerSet": self.samples_per_set,
            "sets": len(self.fid_per_set),
            "fid": self.fid,
            "fidPerSet": list(self.fid_per_set),
            "inceptionScore": UNAVAILABLE if self.inception_score is None
            else self.inception_score,
            "inceptionScorePerSet": UNAVAILABLE if self.inception_score_per_set is None
            else list(self.inception_score_per_set),
            **(self.intra_class_fid.as_record() if self.intra_class_fid else {}),
            **(not_measured_record(self.intra_class_fid_not_measured)
               if self.intra_class_fid_not_measured else {}),
        }


def evaluate(
    generate: Callable[[int], torch.Tensor],
    real: RealStats,
    samples_per_set: int,
    sets: int,
    network: FeatureNetwork,
    batch_size: int = 64,
    num_classes: int | None = None,
) -> Scores:
    """FID against ``real`` (and IS where the network has a classifier) on each sample set; with
    ``num_classes``, ``generate(n)`` returns (images, labels) and the intra-class FID over classes
    0..num_classes − 1 is measured on the same sets where the per-class counts allow."""
    if real.key.network != network.identity:
        raise ValueError(f"real statistics were computed with {real.key.network!r}, "
                         f"the feature network is {network.identity!r}")
    if samples_per_set < 2 or sets < 1 or batch_size < 1:
        raise ValueError(f"evaluation: samplesPerSet {samples_per_set} (≥ 2), sets {sets} (≥ 1), "
                         f"batch size {batch_size} (≥ 1)")
    fids, scores, per_class, not_measured = [], [], [], None
    for number in range(1, sets + 1):
        line = ProgressLine(f"FID set {number}/{sets}: generated samples", samples_per_set,
                            "images")
        labels: list[torch.Tensor] = []
        features = network.features(tracked(
            _generated(generate, samples_per_set, batch_size, labels if num_classes else None),
            line))
        fids.append(frechet_distance(real.fid, statistics(features[network.fid_layer])))
        if network.isc_layer is not None:
            scores.append(inception_score(features[network.isc_layer]))
        if num_classes and not_measured is None:
            try:
                per_class.append(intra_class_fid(real.features, real.labels,
                                                 features[network.fid_layer].float(),
                                                 torch.cat(labels), num_classes))
            except NotMeasurable as e:
                not_measured = f"set {number}: {e}"
    return Scores(network.identity, samples_per_set, tuple(fids),
                  tuple(scores) if network.isc_layer is not None else None,
                  IntraClassFid.over_sets(per_class) if num_classes and not not_measured
                  else None, not_measured)


def _generated(generate: Callable, n: int, batch_size: int,
               labels: list[torch.Tensor] | None) -> Iterator[torch.Tensor]:
    """``generate``'s images batch by batch; with ``labels``, ``generate`` also returns the labels
    it drew the images for, collected there."""
    for start in range(0, n, batch_size):
        wanted = min(batch_size, n - start)
        images = generate(wanted)
        if labels is not None:
            images, drawn = images
            if drawn.shape != (images.shape[0],):
                raise ValueError(f"generate({wanted}) returned labels {tuple(drawn.shape)} for "
                                 f"{images.shape[0]} images")
            labels.append(drawn.cpu())
        check_images(images, f"generate({wanted})")
        if images.shape[0] != wanted:
            raise ValueError(f"generate({wanted}) returned {images.shape[0]} images")
        yield images
