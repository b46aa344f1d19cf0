"""The training reader: ``Batch``es for one rank, forever, in the sampler's order.

Plain Python over ``pyarrow`` (no Ray), so a training worker owns its input and a resumed run
can start at any step. Shards are fetched and verified against the manifest's checksums a
window ahead, and batches decoded two ahead, on background threads; images stay uint8 and
become float on the worker. With a labelled mask, images outside it carry label -1 and
``labelled`` False, so no method can read a label the paper's protocol hides;
``labelled_only`` (BIGGAN-k%) drops them before sampling.
"""

from __future__ import annotations

import queue
import threading
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from s3gan.data.batch import Batch
from s3gan.data.manifest import ShardRecord, read_manifest, read_verified_shard
from s3gan.data.masks import read_mask
from s3gan.data.sampler import rank_slab, steps_per_epoch
from s3gan.data.shards import decode_images, read_columns
from s3gan.data.storage import open_location
from s3gan.spec.model import Storage

WINDOW_SHARDS = 4  # shards pooled for within-shard shuffling; about 2 windows stay in memory
FETCH_THREADS = 4  # S3 latency hides behind a few concurrent GETs
PREFETCH_BATCHES = 2  # batches ready before the training step asks for them


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

    def _load(self, position: int) -> pa.Table:
        shard = self.shards[position]
        table = read_columns(read_verified_shard(self.location, shard),
                             ["image", "label", "index"])
        if self.labelled_only:
            table = table.filter(pc.is_in(table["index"], pa.array(self.labelled_index)))
        return table.combine_chunks()

    def _batch(self, shards: np.ndarray, rows: np.ndarray, cache) -> Batch:
        s = self.manifest.settings
        images = np.empty((len(rows), 3, s.resolution, s.resolution), dtype=np.uint8)
        labels = np.empty(len(rows), dtype=np.int64)
        index = np.empty(len(rows), dtype=np.int64)
        for shard in np.unique(shards):
            where = np.flatnonzero(shards == shard)
            part = cache[int(shard)].result().take(pa.array(rows[where]))
            images[where] = decode_images(part["image"].combine_chunks(), s.encoding,
                                          s.resolution, s.channels)
            labels[where] = part["label"].to_numpy()
            index[where] = part["index"].to_numpy()
        if self.labelled_index is None:
            labelled = np.ones(len(rows), dtype=bool)
        else:
            labelled = np.isin(index, self.labelled_index)
            labels = np.where(labelled, labels, -1)
        return Batch(torch.from_numpy(images), torch.from_numpy(labels),
                     torch.from_numpy(index), torch.from_numpy(labelled))
