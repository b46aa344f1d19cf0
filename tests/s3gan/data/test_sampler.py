"""The training order: equal disjoint slabs per rank, a pure function of (seed, epoch)."""

from __future__ import annotations

import numpy as np
import pytest

from s3gan.data.sampler import epoch_order, rank_slab, steps_per_epoch

ROWS = np.array([64, 64, 64, 64, 64, 64, 37])


def _ids(slab):
    return set(zip(slab.shard.tolist(), slab.row.tolist(), strict=True))


def test_epoch_order_covers_every_row_once():
    order = epoch_order(ROWS, seed=1, epoch=0, window=2)
    assert len(_ids(order)) == len(order.shard) == ROWS.sum()


def test_ranks_get_equal_disjoint_slabs_and_the_remainder_is_dropped():
    slabs = [rank_slab(ROWS, 1, 0, 2, batch_size=16, rank=r, world_size=3) for r in range(3)]
    steps = steps_per_epoch(int(ROWS.sum()), 16, 3)
    assert steps == 421 // 48
    assert all(len(s.shard) == steps * 16 for s in slabs)
    assert not (_ids(slabs[0]) & _ids(slabs[1])) and not (_ids(slabs[1]) & _ids(slabs[2]))


def test_order_depends_only_on_seed_and_epoch():
    a = epoch_order(ROWS, 1, 0, 2)
    assert np.array_equal(a.shard, epoch_order(ROWS, 1, 0, 2).shard)
    assert not np.array_equal(a.row, epoch_order(ROWS, 1, 1, 2).row)
    assert not np.array_equal(a.row, epoch_order(ROWS, 2, 0, 2).row)


def test_rows_are_mixed_within_and_across_shards():
    order = epoch_order(ROWS, 1, 0, window=2)
    first_batch = order.shard[:16]
    assert len(set(first_batch.tolist())) == 2  # a window of two shards, interleaved
    assert not np.all(np.diff(order.row[order.shard == first_batch[0]]) > 0)


def test_bad_rank_and_too_few_rows():
    with pytest.raises(ValueError, match="rank 3"):
        rank_slab(ROWS, 1, 0, 2, 16, rank=3, world_size=3)
    with pytest.raises(ValueError, match="cannot fill one batch"):
        steps_per_epoch(10, 8, 2)
