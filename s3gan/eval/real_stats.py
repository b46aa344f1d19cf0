"""FID statistics of the real images, computed once per dataset split and feature network.

They are the expensive half of every FID (50k ImageNet validation images in the paper) and
the same for every trial of a sweep, so they are cached beside the dataset's shards as
``real-stats/<split>/v<VERSION>-<network identity>-<samples>.npz``, written whole or not at all,
and found again by that key. The same single pass over the images also keeps their features and
labels, from which the intra-class FID (``s3gan.eval.intra_fid``) takes each class's statistics:
C classes' Σ would be C·d² numbers (16 GB for ImageNet's 1,000 at d = 2048), the features are
n·d (0.4 GB for its 50k validation images).
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

VERSION = 2  # bump when what the file holds changes: older files are never found, never misread
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
        return f"real-stats/{self.split}/v{VERSION}-{self.network}-{self.samples}.npz"


@dataclass(frozen=True)
class RealStats:
    """The split's FID statistics, and the features [n, d] (float32) and labels [n] they came
    from (a label < 0: the image has none)."""

    key: RealStatsKey
    fid: Statistics
    features: torch.Tensor
    labels: torch.Tensor


def compute(network: FeatureNetwork, batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
            key: RealStatsKey) -> RealStats:
    """Statistics of the first ``key.samples`` images of ``batches`` (uint8 images, labels)."""
    if key.network != network.identity:
        raise ValueError(f"real statistics key names network {key.network!r}, "
                         f"got {network.identity!r}")
    counted = _Counted(batches, key.samples)
    line = ProgressLine(f"FID real statistics of {key.split!r} (computed once, then cached)",
                        key.samples, "images")
    features = network.features(tracked(counted.images(), line))
    if counted.seen < key.samples:
        raise ValueError(f"split {key.split!r} has {counted.seen} images, "
                         f"{key.samples} requested (evaluation.realSamples)")
    pool = features[network.fid_layer].float()
    return RealStats(key, statistics(pool), pool, torch.cat(counted.labels).to(torch.int64))


def save(location: Location, stats: RealStats) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, mu=stats.fid.mu, sigma=stats.fid.sigma, features=stats.features.numpy(),
             labels=stats.labels.numpy(), version=VERSION, split=stats.key.split,
             network=stats.key.network, samples=stats.key.samples)
    location.write_whole(stats.key.path, buffer.getvalue())


def load(location: Location, key: RealStatsKey) -> RealStats | None:
    """The cached statistics for ``key``, or None when there are none yet."""
    if not location.exists(key.path):
        return None
    where = location.url(key.path)
    try:
        with np.load(io.BytesIO(location.read_bytes(key.path))) as f:
            version = int(f["version"])
            found = RealStatsKey(str(f["split"]), str(f["network"]), int(f["samples"]))
            fid = Statistics(f["mu"], f["sigma"])
            features, labels = torch.from_numpy(f["features"]), torch.from_numpy(f["labels"])
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as e:
        raise ValueError(f"{where}: not a real-statistics file of version {VERSION}: {e}") from e
    if version != VERSION or found != key:
        raise ValueError(f"{where}: holds version {version} statistics for {found}, expected "
                         f"version {VERSION} for {key}")
    if features.shape != (key.samples, fid.mu.shape[0]) or labels.shape != (key.samples,):
        raise ValueError(f"{where}: features {tuple(features.shape)} and labels "
                         f"{tuple(labels.shape)} do not match {key.samples} images")
    return RealStats(key, fid, features, labels)


def cached(location: Location, key: RealStatsKey, network: FeatureNetwork,
           batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> RealStats:
    """Found by key in ``location`` (the dataset's directory), else computed and saved.

    ``batches`` is only iterated on a miss.
    """
    found = load(location, key)
    if found is not None:
        return found
    stats = compute(network, batches, key)
    save(location, stats)
    return stats


class _Counted:
    """The first ``limit`` images of a stream of (images, labels) batches, how many there were,
    and their labels."""

    def __init__(self, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], limit: int):
        self.batches, self.limit, self.seen = batches, limit, 0
        self.labels: list[torch.Tensor] = [torch.zeros(0, dtype=torch.int64)]

    def images(self) -> Iterator[torch.Tensor]:
        for images, labels in self.batches:
            if labels.shape[0] != images.shape[0]:
                raise ValueError(f"real statistics: a batch of {images.shape[0]} images came "
                                 f"with {labels.shape[0]} labels")
            take = images[: self.limit - self.seen]
            self.labels.append(torch.as_tensor(labels[: take.shape[0]], dtype=torch.int64))
            self.seen += take.shape[0]
            if take.shape[0]:
                yield take
            if self.seen >= self.limit:
                return
