"""FID statistics of the real images, computed once per dataset split and feature network.

They are the expensive half of every FID (50k ImageNet validation images in the paper) and
the same for every trial of a sweep, so they are cached beside the dataset's shards as
``real-stats/<split>/<network identity>-<samples>.npz``, written whole or not at all, and
found again by that key.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from s3gan.data.storage import Location
from s3gan.eval.features import FeatureNetwork
from s3gan.eval.fid import Statistics, statistics
from s3gan.monitor.progress import ProgressLine, tracked

_SPLIT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class RealStatsKey:
    """What the statistics depend on besides the dataset itself (which is their location)."""

    split: str
    network: str  # FeatureNetwork.identity
    samples: int

    def __post_init__(self):
        if not _SPLIT.match(self.split):
            raise ValueError(f"real statistics: split name {self.split!r} is not a plain name")
        if self.samples < 2:
            raise ValueError(f"real statistics: need at least 2 samples, got {self.samples}")

    @property
    def path(self) -> str:
        return f"real-stats/{self.split}/{self.network}-{self.samples}.npz"


@dataclass(frozen=True)
class RealStats:
    key: RealStatsKey
    fid: Statistics


def compute(network: FeatureNetwork, images: Iterable[torch.Tensor], key: RealStatsKey
            ) -> RealStats:
    """Statistics of the first ``key.samples`` images of ``images`` (uint8 batches)."""
    if key.network != network.identity:
        raise ValueError(f"real statistics key names network {key.network!r}, "
                         f"got {network.identity!r}")
    counted = _Counted(images, key.samples)
    line = ProgressLine(f"FID real statistics of {key.split!r} (computed once, then cached)",
                        key.samples, "images")
    features = network.features(tracked(counted, line))
    if counted.seen < key.samples:
        raise ValueError(f"split {key.split!r} has {counted.seen} images, "
                         f"{key.samples} requested (evaluation.realSamples)")
    return RealStats(key, statistics(features[network.fid_layer]))


def save(location: Location, stats: RealStats) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, mu=stats.fid.mu, sigma=stats.fid.sigma, split=stats.key.split,
             network=stats.key.network, samples=stats.key.samples)
    location.write_whole(stats.key.path, buffer.getvalue())


def load(location: Location, key: RealStatsKey) -> RealStats | None:
    """The cached statistics for ``key``, or None when there are none yet."""
    if not location.exists(key.path):
        return None
    where = location.url(key.path)
    try:
        with np.load(io.BytesIO(location.read_bytes(key.path))) as f:
            found = RealStatsKey(str(f["split"]), str(f["network"]), int(f["samples"]))
            fid = Statistics(f["mu"], f["sigma"])
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as e:
        raise ValueError(f"{where}: not a real-statistics file: {e}") from e
    if found != key:
        raise ValueError(f"{where}: holds statistics for {found}, expected {key}")
    return RealStats(key, fid)


def cached(location: Location, key: RealStatsKey, network: FeatureNetwork,
           images: Iterable[torch.Tensor]) -> RealStats:
    """Found by key in ``location`` (the dataset's directory), else computed and saved.

    ``images`` is only iterated on a miss.
    """
    found = load(location, key)
    if found is not None:
        return found
    stats = compute(network, images, key)
    save(location, stats)
    return stats


class _Counted:
    """The first ``limit`` images of a batch stream, and how many there were."""

    def __init__(self, batches: Iterable[torch.Tensor], limit: int):
        self.batches, self.limit, self.seen = batches, limit, 0

    def __iter__(self) -> Iterator[torch.Tensor]:
        for batch in self.batches:
            take = batch[: self.limit - self.seen]
            self.seen += take.shape[0]
            if take.shape[0]:
                yield take
            if self.seen >= self.limit:
                return
