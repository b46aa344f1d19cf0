"""The dataset manifest: what a converted dataset holds, written last as proof it is whole.

Layout under the dataset URI::

    conversion.json           what is being converted (source fingerprint and settings)
    progress/<shard>.json     one record per finished shard (resumption)
    shards/<split>-NNNNN.parquet
    masks/<split>-fraction-<k>-seed-<s>.parquet
    manifest.json             classes, counts, resolution, encoding, shard checksums, masks
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

from s3gan.data.documents import parse_versioned, write_json
from s3gan.data.storage import Location, StorageNotFound

FORMAT = "s3gan-dataset/1"
MANIFEST = "manifest.json"
CONVERSION = "conversion.json"


class ManifestError(ValueError):
    """A missing, foreign or inconsistent dataset; the message names the file."""


class ChecksumError(ManifestError):
    """A shard's bytes do not match the checksum the manifest recorded."""


@dataclass(frozen=True)
class Settings:
    """How images were turned into shards; part of a dataset's identity."""

    resolution: int
    channels: int
    encoding: str
    shard_size: int


@dataclass(frozen=True)
class Skipped:
    split: str
    index: int
    source: str
    reason: str


@dataclass(frozen=True)
class ShardRecord:
    """One shard: the images with stable index in [first_index, end_index) of ``split``,
    less the skipped ones, in index order."""

    name: str
    split: str
    rows: int
    first_index: int
    end_index: int
    sha256: str
    bytes: int
    skipped: tuple[Skipped, ...] = ()

    @classmethod
    def from_dict(cls, d: dict) -> ShardRecord:
        return cls(**{**d, "skipped": tuple(Skipped(**s) for s in d.get("skipped", ()))})


@dataclass(frozen=True)
class MaskRecord:
    """A labelled subset of ``split``: ``fraction`` of every class, drawn with ``seed``."""

    name: str
    split: str
    fraction: float
    seed: int
    images: int
    per_class: tuple[int, ...]
    sha256: str


@dataclass(frozen=True)
class Manifest:
    source: str
    fingerprint: str
    settings: Settings
    classes: tuple[str, ...]
    counts: dict[str, int]  # split → images stored
    per_class: dict[str, tuple[int, ...]]  # split → images stored per class
    shards: tuple[ShardRecord, ...]
    masks: tuple[MaskRecord, ...] = field(default=())
    format: str = FORMAT

    @property
    def skipped(self) -> tuple[Skipped, ...]:
        return tuple(s for shard in self.shards for s in shard.skipped)

    def split_shards(self, split: str) -> tuple[ShardRecord, ...]:
        shards = tuple(s for s in self.shards if s.split == split)
        if not shards:
            raise ManifestError(f"split {split!r} not in the dataset (has {sorted(self.counts)})")
        return shards

    def mask(self, split: str, fraction: float, seed: int) -> MaskRecord:
        for m in self.masks:
            if m.split == split and m.fraction == fraction and m.seed == seed:
                return m
        raise ManifestError(
            f"no labelled mask for split {split!r}, fraction {fraction:g}, seed {seed}; "
            f"create it with `s3gan data labels DATASET --fraction {fraction:g} --seed {seed}`"
        )

    @classmethod
    def from_json(cls, data: bytes, where: str) -> Manifest:
        d = parse_versioned(data, where, FORMAT, "dataset manifest", ManifestError)
        try:
            return cls(
                source=d["source"],
                fingerprint=d["fingerprint"],
                settings=Settings(**d["settings"]),
                classes=tuple(d["classes"]),
                counts=dict(d["counts"]),
                per_class={k: tuple(v) for k, v in d["per_class"].items()},
                shards=tuple(ShardRecord.from_dict(s) for s in d["shards"]),
                masks=tuple(MaskRecord(**{**m, "per_class": tuple(m["per_class"])})
                            for m in d.get("masks", ())),
            )
        except (KeyError, TypeError) as e:
            raise ManifestError(f"{where}: not a valid dataset manifest ({e!r})") from e


def read_manifest(location: Location) -> Manifest:
    try:
        data = location.read_bytes(MANIFEST)
    except StorageNotFound as e:
        raise ManifestError(
            f"{location.url(MANIFEST)}: no manifest — not a finished `s3gan data convert` "
            f"output ({e})"
        ) from e
    return Manifest.from_json(data, location.url(MANIFEST))


def write_manifest(location: Location, manifest: Manifest) -> None:
    write_json(location, MANIFEST, asdict(manifest))


def read_verified_shard(location: Location, shard: ShardRecord) -> bytes:
    """The shard's bytes, after checking them against the manifest's checksum."""
    data = location.read_bytes(shard.name)
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != shard.bytes or digest != shard.sha256:
        raise ChecksumError(
            f"{location.url(shard.name)}: checksum mismatch (sha256 {digest}, "
            f"{len(data)} bytes; the manifest records {shard.sha256}, {shard.bytes} bytes)"
        )
    return data
