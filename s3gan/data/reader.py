"""The training reader: ``Batch``es for one rank, forever, in the sampler's order.

Plain Python over ``pyarrow`` (no Ray), so a training worker owns its input and a resumed run
can start at any step. Shards are fetched and verified against the manifest's checksums a
window ahead, and batches decoded two ahead, on background threads; images stay uint8 and
become float on the worker. With a labelled mask, images outside it carry label -1 and
``labelled`` False, so no method can read a label the paper's protocol hides;
``labelled_only`` (BIGGAN-k%) drops them before sampling.

Speed (docs/data.md): a loaded shard's raw pixels stay a zero-copy view of the Arrow column
and its JPEG/PNG payloads a list of bytes, so each image of a batch costs one decode (none for
raw) and one transposing copy, straight into the batch.
"""

from __future__ import annotations

import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from s3gan.data.batch import Batch
from s3gan.data.manifest import Settings, ShardRecord, read_manifest, read_verified_shard
from s3gan.data.masks import read_mask
from s3gan.data.preprocess import decode
from s3gan.data.sampler import rank_slab, steps_per_epoch
from s3gan.data.shards import read_columns
from s3gan.data.storage import open_location
from s3gan.spec.model import Storage

WINDOW_SHARDS = 4  # shards pooled for within-shard shuffling; about 2 windows stay in memory
FETCH_THREADS = 4  # S3 latency hides behind a few concurrent GETs
PREFETCH_BATCHES = 2  # batches ready before the training step asks for them


@dataclass(frozen=True)
class _LoadedShard:
    """A verified shard's rows, ready for batch assembly."""

    labels: np.ndarray  # int64 [rows]
    index: np.ndarray  # int64 [rows]
    chw: Callable[[int], np.ndarray]  # row → its image, uint8 [C, H, W]


def _raw_images(payloads: pa.BinaryArray, settings: Settings,
                where: str) -> Callable[[int], np.ndarray]:
    """Rows of raw pixels as transposed views of the column's buffer: nothing is copied until
    a batch is assembled."""
    shape = (settings.resolution, settings.resolution, settings.channels)
    size = int(np.prod(shape))
    offsets = np.frombuffer(payloads.buffers()[1], dtype=np.int32, count=len(payloads) + 1,
                            offset=4 * payloads.offset)
    sizes = np.unique(np.diff(offsets)).tolist()
    if sizes != [size]:
        raise ValueError(f"{where}: raw images of {sizes} bytes, but the manifest's "
                         f"{settings.resolution} px × {settings.channels} channels make {size}")
    pixels = np.frombuffer(payloads.buffers()[2], dtype=np.uint8, count=len(payloads) * size,
                           offset=int(offsets[0])).reshape((len(payloads), *shape))
    return lambda row: pixels[row].transpose(2, 0, 1)


def _encoded_images(payloads: pa.BinaryArray, settings: Settings,
                    where: str) -> Callable[[int], np.ndarray]:
    """Rows of JPEG or PNG payloads, decoded when a batch asks for them."""
    blobs = payloads.to_pylist()

    def chw(row: int) -> np.ndarray:
        try:
            hwc = decode(blobs[row], settings.encoding, settings.resolution, settings.channels)
        except (ValueError, OSError) as error:  # Pillow's two ways of refusing bytes
            raise ValueError(f"{where}, row {row}: {error}") from error
        return hwc.transpose(2, 0, 1)

    return chw


class TrainingReader:
    """Deterministic batches of ``batch_size`` (per rank) for ``rank`` of ``world_size``."""

    def __init__(
        self,
        uri: str,
        split: str,
        batch_size: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        labelled_only: bool = False,
        mask: tuple[float, int] | None = None,
        start_step: int = 0,
        storage: Storage | None = None,
    ):
        if labelled_only and mask is None:
            raise ValueError("labelled_only needs mask=(fraction, seed): which images are labelled")
        if start_step < 0:
            raise ValueError(f"start_step must be >= 0, got {start_step}")
        self.location = open_location(uri, storage)
        self.manifest = read_manifest(self.location)
        self.shards: tuple[ShardRecord, ...] = self.manifest.split_shards(split)
        self.batch_size, self.seed = batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.labelled_only, self.start_step = labelled_only, start_step
        self.labelled_index = (
            read_mask(self.location, self.manifest.mask(split, *mask)) if mask else None
        )
        self.rows_per_shard = np.array([self._rows(s) for s in self.shards], dtype=np.int64)
        self.steps_per_epoch = steps_per_epoch(
            int(self.rows_per_shard.sum()), batch_size, world_size
        )
        # Validates the rank before any fetch starts.
        rank_slab(self.rows_per_shard, seed, 0, WINDOW_SHARDS, batch_size, rank, world_size)

    def _rows(self, shard: ShardRecord) -> int:
        if not self.labelled_only:
            return shard.rows
        lo, hi = np.searchsorted(self.labelled_index, [shard.first_index, shard.end_index])
        return int(hi - lo)

    def __iter__(self) -> Iterator[Batch]:
        """Batches are assembled on a background thread, ``PREFETCH_BATCHES`` ahead, so reading
        and decoding overlap the training step (Pillow, numpy and torch release the GIL)."""
        ready: queue.Queue = queue.Queue(PREFETCH_BATCHES)
        stop = threading.Event()

        def hand_over(item) -> bool:
            while not stop.is_set():
                try:
                    ready.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            batches = self._batches()
            try:
                for batch in batches:
                    if not hand_over(batch):
                        return
            except BaseException as error:  # re-raised in the consumer, which named the reader
                hand_over(error)
            finally:
                batches.close()

        producer = threading.Thread(target=produce, name="batch-prefetch", daemon=True)
        producer.start()
        try:
            while True:
                item = ready.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            producer.join()

    def _batches(self) -> Iterator[Batch]:
        epoch, offset = divmod(self.start_step, self.steps_per_epoch)
        with ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="shard-fetch") as pool:
            cache: OrderedDict[int, Future] = OrderedDict()
            while True:
                slab = rank_slab(self.rows_per_shard, self.seed, epoch, WINDOW_SHARDS,
                                 self.batch_size, self.rank, self.world_size)
                for step in range(offset, self.steps_per_epoch):
                    rows = slice(step * self.batch_size, (step + 1) * self.batch_size)
                    ahead = slice(rows.stop, rows.stop + WINDOW_SHARDS * self.batch_size)
                    needed = dict.fromkeys(np.concatenate([slab.shard[rows],
                                                           slab.shard[ahead]]).tolist())
                    for shard in needed:
                        if shard not in cache:
                            cache[shard] = pool.submit(self._load, shard)
                        cache.move_to_end(shard)
                    while len(cache) > 3 * WINDOW_SHARDS and next(iter(cache)) not in needed:
                        cache.popitem(last=False)
                    yield self._batch(slab.shard[rows], slab.row[rows], cache)
                epoch, offset = epoch + 1, 0

    def _load(self, position: int) -> _LoadedShard:
        shard = self.shards[position]
        table = read_columns(read_verified_shard(self.location, shard),
                             ["image", "label", "index"])
        if self.labelled_only:
            table = table.filter(pc.is_in(table["index"], pa.array(self.labelled_index)))
        payloads, where = table["image"].combine_chunks(), self.location.url(shard.name)
        if self.manifest.settings.encoding == "raw":
            chw = _raw_images(payloads, self.manifest.settings, where)
        else:
            chw = _encoded_images(payloads, self.manifest.settings, where)
        return _LoadedShard(table["label"].to_numpy(), table["index"].to_numpy(), chw)

    def _batch(self, shards: np.ndarray, rows: np.ndarray, cache) -> Batch:
        s = self.manifest.settings
        images = np.empty((len(rows), 3, s.resolution, s.resolution), dtype=np.uint8)
        labels = np.empty(len(rows), dtype=np.int64)
        index = np.empty(len(rows), dtype=np.int64)
        loaded = {shard: cache[shard].result() for shard in np.unique(shards).tolist()}
        # One copy per image, straight into the batch, and no temporary batch to scatter from.
        for position, (shard, row) in enumerate(zip(shards.tolist(), rows.tolist(), strict=True)):
            images[position] = loaded[shard].chw(row)  # a grey channel broadcasts to three
            labels[position] = loaded[shard].labels[row]
            index[position] = loaded[shard].index[row]
        if self.labelled_index is None:
            labelled = np.ones(len(rows), dtype=bool)
        else:
            labelled = np.isin(index, self.labelled_index)
            labels = np.where(labelled, labels, -1)
        return Batch(torch.from_numpy(images), torch.from_numpy(labels),
                     torch.from_numpy(index), torch.from_numpy(labelled))
