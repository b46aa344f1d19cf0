"""Retention beyond the newest K (best FID, last known-good) and saving on SIGTERM."""

from __future__ import annotations

import os
import signal

import pytest
import torch

from s3gan.spec.model import Checkpointing
from s3gan.train.checkpoint import CheckpointStore
from s3gan.train.preemption import PreemptibleSchedule
from s3gan.train.retention import RECORD, BestFid, Retention
from tests.fixtures.clock import ManualClock


def _state(step: int) -> dict:
    return {"progress": {"step": step, "batches_consumed": step}, "w": torch.full((2,), step)}


def _steps(store: CheckpointStore) -> list[int]:
    return [c.step for c in store.checkpoints()]


def test_pruning_keeps_the_newest_k_the_best_fid_and_the_last_good(tmp_path):
    retention = Retention(tmp_path)
    store = CheckpointStore(tmp_path, keep=2, protected=retention.protected)
    for step in range(1, 7):
        store.save(step, _state(step))
        if step <= 2:
            retention.mark_good(step)
        if step == 3:
            assert retention.record_fid(3, 12.5)
    assert not retention.record_fid(4, 13.0)  # worse than the best: the record stays
    store.save(7, _state(7))
    assert _steps(store) == [2, 3, 6, 7]

    reopened = Retention(tmp_path)
    assert reopened.last_good == 2 and reopened.best_fid == BestFid(3, 12.5)
    assert reopened.record_fid(7, 9.0)
    reopened.mark_good(7)
    store.protected = reopened.protected
    store.save(8, _state(8))
    assert _steps(store) == [7, 8]


def test_without_a_retention_record_the_store_keeps_only_the_newest(tmp_path):
    store = CheckpointStore(tmp_path, keep=1)
    for step in (1, 2, 3):
        store.save(step, _state(step))
    assert _steps(store) == [3]


def test_an_unreadable_record_is_refused_naming_the_file(tmp_path):
    (tmp_path / RECORD).write_text('{"lastGood": "yesterday", "bestFid": null}')
    with pytest.raises(ValueError, match=rf"{RECORD}: lastGood"):
        Retention(tmp_path)
    (tmp_path / RECORD).write_text("{")
    with pytest.raises(ValueError, match=rf"{RECORD}: unreadable"):
        Retention(tmp_path)


def test_the_schedule_is_due_by_steps_by_minutes_and_on_sigterm():
    clock = ManualClock()
    schedule = PreemptibleSchedule(Checkpointing(everySteps=10, everyMinutes=5.0), clock=clock)
    assert not schedule.due(3) and schedule.due(10)
    clock.now = 301.0
    assert schedule.due(3)
    schedule.saved()
    assert not schedule.due(4)

    before = signal.getsignal(signal.SIGTERM)
    with schedule.catching_sigterm():
        os.kill(os.getpid(), signal.SIGTERM)
        assert schedule.terminating and schedule.due(4)
    assert signal.getsignal(signal.SIGTERM) is before
