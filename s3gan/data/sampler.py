"""The training order: which rows of which shards form each rank's batches, from (seed, epoch).

Each epoch has one global order of all rows, the same for every world size:
1. the shards (each one Parquet row group) are permuted with a generator seeded by
   (seed, epoch) — shuffling across shards;
2. consecutive runs of ``window`` shards in that order are pooled and their rows permuted
   with a generator seeded by (seed, epoch, window number) — shuffling within and between
   neighbouring shards while a reader holds only a window in memory.
Every rank takes an equal contiguous slab of that order: rank r gets rows
[r·n, (r+1)·n) with n = steps_per_epoch·batch_size and steps_per_epoch =
⌊rows / (world_size·batch_size)⌋. The rows past world_size·n (fewer than
world_size·batch_size) are dropped for that epoch; the next epoch's order drops others.
Because the order is a pure function of (seed, epoch), step s of any run is the same batch,
so a run resumed at step s sees exactly what an uninterrupted one would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RankSlab:
    """A rank's rows for one epoch, in order: shard position and row within the shard."""

    shard: np.ndarray  # int64 [n]
    row: np.ndarray  # int64 [n]


def steps_per_epoch(total_rows: int, batch_size: int, world_size: int) -> int:
    steps = total_rows // (batch_size * world_size)
    if steps == 0:
        raise ValueError(
            f"{total_rows} images cannot fill one batch of {batch_size} on each of "
            f"{world_size} rank(s)"
        )
    return steps


def epoch_order(rows_per_shard: np.ndarray, seed: int, epoch: int, window: int) -> RankSlab:
    """The global order of every row for ``epoch`` (see the module docstring)."""
    counts = np.asarray(rows_per_shard, dtype=np.int64)
    shards = np.random.default_rng([seed, epoch]).permutation(len(counts))
    shard_parts, row_parts = [], []
    for number, start in enumerate(range(0, len(shards), window)):
        members = shards[start : start + window]
        shard = np.repeat(members, counts[members])
        row = np.concatenate([np.arange(counts[m]) for m in members])
        order = np.random.default_rng([seed, epoch, number]).permutation(len(shard))
        shard_parts.append(shard[order])
        row_parts.append(row[order])
    return RankSlab(np.concatenate(shard_parts), np.concatenate(row_parts))


def rank_slab(
    rows_per_shard: np.ndarray, seed: int, epoch: int, window: int,
    batch_size: int, rank: int, world_size: int,
) -> RankSlab:
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in [0, {world_size})")
    order = epoch_order(rows_per_shard, seed, epoch, window)
    n = steps_per_epoch(len(order.shard), batch_size, world_size) * batch_size
    part = slice(rank * n, (rank + 1) * n)
    return RankSlab(order.shard[part], order.row[part])
