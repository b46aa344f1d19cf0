"""``s3gan data convert``: a source tree into Parquet shards, in parallel and resumably.

Shard k of a split holds the images with stable index in [k·S, (k+1)·S) (S the shard size),
so every shard's content is fixed by the source and the settings alone. Stable indices follow
``Source.in_stable_order``, a fixed permutation of the source's sorted listing, so an
ImageNet-layout tree's shards each hold a random mix of classes, not one or two.
Each shard is written whole (see ``Location.write_whole``) and then recorded under
``progress/``; a re-run after an interruption skips the recorded shards and rewrites the
rest byte for byte, so nothing is lost or duplicated. The manifest is written last.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from s3gan.data.manifest import (
    CONVERSION,
    MANIFEST,
    Manifest,
    Settings,
    ShardRecord,
    Skipped,
    read_manifest,
    write_manifest,
)
from s3gan.data.preprocess import centre_crop_resize, encode
from s3gan.data.shards import shard_bytes
from s3gan.data.sources import Source, open_source
from s3gan.data.storage import PARTIAL, open_location
from s3gan.spec.model import Storage

PROGRESS = "progress"
STABLE_ORDER = "permuted/1"  # how stable indices follow the listing (Source.in_stable_order)
DEFAULT_MAX_SKIPPED = 0.001  # ImageNet's train set has a handful of odd files, not 0.1%


class ConversionError(RuntimeError):
    """The conversion cannot proceed or produced too many unreadable images."""


@dataclass(frozen=True)
class _ShardTask:
    dest: str
    storage: Storage
    settings: Settings
    name: str
    split: str
    first_index: int
    payloads: list  # paths or uint8 arrays
    labels: np.ndarray


def shard_name(split: str, number: int) -> str:
    return f"shards/{split}-{number:05d}.parquet"


def convert(
    source_root: str,
    dest: str,
    settings: Settings,
    storage: Storage | None = None,
    validation_labels: str | None = None,
    max_skipped: float = DEFAULT_MAX_SKIPPED,
    workers: int | None = None,
    report: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
    limit: int | None = None,
) -> Manifest:
    source = open_source(source_root, validation_labels).in_stable_order()
    if limit is not None:
        source = source.head(limit)
    location = open_location(dest, storage)
    identity = {"source": os.path.abspath(source_root), "fingerprint": source.fingerprint(),
                "settings": asdict(settings), "order": STABLE_ORDER}
    if _claim(location, identity):
        report(f"{dest}: already converted from {source_root} with these settings")
        return read_manifest(location)

    tasks = _plan(source, location.uri, location.storage, settings)
    for folder in (PROGRESS, "shards"):  # temporaries of writes cut short by an interruption
        for name in location.list_files(folder):
            if PARTIAL in name:
                location.delete(f"{folder}/{name}")
    done = {}
    for record_name in filter(lambda n: n.endswith(".json"), location.list_files(PROGRESS)):
        record = ShardRecord.from_dict(json.loads(location.read_bytes(f"{PROGRESS}/{record_name}")))
        done[record.name] = record
    pending = [t for t in tasks if t.name not in done]
    total = sum(len(t.payloads) for t in tasks)
    if done:
        report(f"resuming: {len(done)} of {len(tasks)} shards already written")
    started, converted = time.monotonic(), sum(r.end_index - r.first_index for r in done.values())
    for record in _run(pending, workers or os.cpu_count() or 1):
        done[record.name] = record
        converted += record.end_index - record.first_index
        rate = converted / max(time.monotonic() - started, 1e-9)
        report(f"{len(done)}/{len(tasks)} shards, {converted}/{total} images "
               f"({rate:.0f}/s): {record.name}")

    records = tuple(done[t.name] for t in tasks)
    skipped = [s for r in records for s in r.skipped]
    if len(skipped) > max_skipped * total:
        listed = "; ".join(f"{s.source}: {s.reason}" for s in skipped[:5])
        raise ConversionError(
            f"{len(skipped)} of {total} images unreadable, over the threshold "
            f"{max_skipped:g} (--max-skipped): {listed}{' …' if len(skipped) > 5 else ''}"
        )
    manifest = _manifest(source, identity, settings, records)
    write_manifest(location, manifest)
    report(_summary(dest, manifest, time.monotonic() - started))
    return manifest


def _run(tasks: list[_ShardTask], workers: int) -> Iterator[ShardRecord]:
    """Shard records as shards finish: in this process for one worker, else in a pool."""
    if workers == 1:
        yield from map(_write_shard, tasks)
        return
    context = multiprocessing.get_context("spawn")  # fork after the S3 client starts is unsafe
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        for future in as_completed([pool.submit(_write_shard, t) for t in tasks]):
            yield future.result()


def _claim(location, identity: dict) -> bool:
    """Record what DEST is converting; True when DEST already holds exactly this dataset."""
    if location.exists(CONVERSION):
        recorded = json.loads(location.read_bytes(CONVERSION))
        if recorded != identity:
            raise ConversionError(
                f"{location.url(CONVERSION)}: DEST already holds a different dataset "
                f"(from {recorded.get('source')!r} with settings {recorded.get('settings')}); "
                "choose another DEST — nothing was overwritten"
            )
        return location.exists(MANIFEST)
    if not location.is_empty():
        raise ConversionError(
            f"{location.uri}: DEST is not empty and holds no s3gan conversion; "
            "choose an empty DEST — nothing was overwritten"
        )
    location.write_whole(CONVERSION, json.dumps(identity, sort_keys=True).encode())
    return False


def _plan(source: Source, dest: str, storage: Storage, settings: Settings) -> list[_ShardTask]:
    tasks = []
    for split, payloads in source.payloads.items():
        for number, first in enumerate(range(0, len(payloads), settings.shard_size)):
            end = first + settings.shard_size
            tasks.append(_ShardTask(dest, storage, settings, shard_name(split, number), split,
                                    first, payloads[first:end], source.labels[split][first:end]))
    return tasks


def _write_shard(task: _ShardTask) -> ShardRecord:
    s = task.settings
    images, labels, indices, skipped = [], [], [], []
    for offset, (payload, label) in enumerate(zip(task.payloads, task.labels, strict=True)):
        index = task.first_index + offset
        try:
            array = centre_crop_resize(_open(payload), s.resolution, s.channels)
        except (OSError, SyntaxError, ValueError, UnidentifiedImageError) as e:
            skipped.append(Skipped(task.split, index, str(payload if isinstance(payload, str)
                                                          else f"#{index}"), str(e)))
            continue
        images.append(encode(array, s.encoding))
        labels.append(int(label))
        indices.append(index)
    data = shard_bytes(images, labels, indices, task.split, s.encoding)
    location = open_location(task.dest, task.storage)
    location.write_whole(task.name, data)
    record = ShardRecord(
        name=task.name, split=task.split, rows=len(images), first_index=task.first_index,
        end_index=task.first_index + len(task.payloads),
        sha256=hashlib.sha256(data).hexdigest(), bytes=len(data), skipped=tuple(skipped),
    )
    record_name = f"{PROGRESS}/{task.name.rsplit('/', 1)[1]}.json"
    location.write_whole(record_name, json.dumps(asdict(record), sort_keys=True).encode())
    return record


def _open(payload) -> Image.Image:
    if isinstance(payload, np.ndarray):
        return Image.fromarray(payload)
    with Image.open(payload) as image:
        image.load()  # decode now: a truncated file raises here, inside the worker's try
        return image.copy()


def _manifest(source: Source, identity, settings, records) -> Manifest:
    counts, per_class = {}, {}
    for split, labels in source.labels.items():
        keep = np.ones(len(labels), dtype=bool)
        for r in records:
            for s in r.skipped:
                if s.split == split:
                    keep[s.index] = False
        counts[split] = int(keep.sum())
        per_class[split] = tuple(
            int(n) for n in np.bincount(labels[keep], minlength=len(source.classes))
        )
    if not counts or min(counts.values()) == 0:
        raise ConversionError(f"{source.root}: a split ended with no readable image: {counts}")
    return Manifest(
        source=identity["source"], fingerprint=identity["fingerprint"], settings=settings,
        classes=source.classes, counts=counts, per_class=per_class, shards=records,
    )


def _summary(dest: str, manifest: Manifest, seconds: float) -> str:
    s = manifest.settings
    splits = ", ".join(f"{split} {n}" for split, n in manifest.counts.items())
    size = sum(r.bytes for r in manifest.shards)
    return (
        f"{dest}: {splits} images in {len(manifest.classes)} classes, "
        f"{len(manifest.shards)} shards, {size / 1e6:.1f} MB, {s.resolution}px {s.encoding}, "
        f"{len(manifest.skipped)} skipped, {seconds:.1f} s"
    )
