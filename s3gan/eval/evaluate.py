"""The paper's evaluation protocol (section 4): FID and IS on ``sets`` independent sets of
``samples_per_set`` generated images (5 × 50k in the paper), the mean over sets reported.

The generator reaches this module only as ``generate(n) → uint8 [n, 3, H, W]``: the pipeline
plugs in the EMA generator with standing BatchNorm statistics, tests plug in anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from statistics import fmean

import torch

from s3gan.eval.features import FeatureNetwork, check_images
from s3gan.eval.fid import frechet_distance, statistics
from s3gan.eval.inception_score import inception_score
from s3gan.eval.real_stats import RealStats
from s3gan.monitor.progress import ProgressLine, tracked

UNAVAILABLE = "unavailable"  # IS with weights that carry no classifier


@dataclass(frozen=True)
class Scores:
    network: str
    samples_per_set: int
    fid_per_set: tuple[float, ...]
    inception_score_per_set: tuple[float, ...] | None  # None: unavailable with these weights

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
        }


def evaluate(
    generate: Callable[[int], torch.Tensor],
    real: RealStats,
    samples_per_set: int,
    sets: int,
    network: FeatureNetwork,
    batch_size: int = 64,
) -> Scores:
    """FID against ``real`` (and IS where the network has a classifier) on each sample set."""
    if real.key.network != network.identity:
        raise ValueError(f"real statistics were computed with {real.key.network!r}, "
                         f"the feature network is {network.identity!r}")
    if samples_per_set < 2 or sets < 1 or batch_size < 1:
        raise ValueError(f"evaluation: samplesPerSet {samples_per_set} (≥ 2), sets {sets} (≥ 1), "
                         f"batch size {batch_size} (≥ 1)")
    fids, scores = [], []
    for number in range(1, sets + 1):
        line = ProgressLine(f"FID set {number}/{sets}: generated samples", samples_per_set,
                            "images")
        features = network.features(tracked(_generated(generate, samples_per_set, batch_size),
                                            line))
        fids.append(frechet_distance(real.fid, statistics(features[network.fid_layer])))
        if network.isc_layer is not None:
            scores.append(inception_score(features[network.isc_layer]))
    return Scores(network.identity, samples_per_set, tuple(fids),
                  tuple(scores) if network.isc_layer is not None else None)


def _generated(generate: Callable[[int], torch.Tensor], n: int, batch_size: int
               ) -> Iterator[torch.Tensor]:
    for start in range(0, n, batch_size):
        wanted = min(batch_size, n - start)
        images = generate(wanted)
        check_images(images, f"generate({wanted})")
        if images.shape[0] != wanted:
            raise ValueError(f"generate({wanted}) returned {images.shape[0]} images")
        yield images
