"""The checkpoint store: atomic commit by manifest, verification before trust, keep-last-K."""

from __future__ import annotations

import json

import pytest
import torch

from s3gan.spec.model import Checkpointing
from s3gan.train.checkpoint import (
    MANIFEST,
    CheckpointError,
    CheckpointSchedule,
    CheckpointStore,
    load,
    verify,
)


def _state(step: int) -> dict:
    return {
        "generator": {"w": torch.full((3, 4), float(step))},
        "rng": {"torch_cpu": torch.get_rng_state()},
        "progress": {"step": step, "batches_consumed": 4 * step},
    }


def test_save_then_load_round_trips_every_part(tmp_path):
    store = CheckpointStore(tmp_path, keep=2)
    saved = store.save(7, _state(7))
    assert saved.path.name == "step-000000007"
    assert sorted(p.name for p in saved.path.iterdir()) == [
        "generator.pt", MANIFEST, "progress.pt", "rng.pt"
    ]
    state = load(saved.path)
    assert torch.equal(state["generator"]["w"], torch.full((3, 4), 7.0))
    assert state["progress"] == {"step": 7, "batches_consumed": 28}
    assert torch.equal(state["rng"]["torch_cpu"], _state(7)["rng"]["torch_cpu"])


def test_keeps_only_the_newest_k_and_no_partial_directories(tmp_path):
    store = CheckpointStore(tmp_path, keep=2)
    for step in (1, 2, 3, 4):
        store.save(step, _state(step))
    assert [c.step for c in store.checkpoints()] == [3, 4]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-000000003", "step-000000004"]
    assert store.latest().step == 4


def test_truncated_file_is_refused_naming_the_file(tmp_path):
    saved = CheckpointStore(tmp_path, keep=3).save(5, _state(5))
    victim = saved.path / "generator.pt"
    victim.write_bytes(victim.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match=r"generator\.pt.*truncated"):
        load(saved.path)


def test_same_size_corruption_is_refused_naming_the_file(tmp_path):
    saved = CheckpointStore(tmp_path, keep=3).save(5, _state(5))
    victim = saved.path / "progress.pt"
    data = bytearray(victim.read_bytes())
    data[-3] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"progress\.pt.*SHA-256"):
        verify(saved.path)


def test_directory_without_manifest_is_not_a_checkpoint(tmp_path):
    saved = CheckpointStore(tmp_path, keep=3).save(5, _state(5))
    (saved.path / MANIFEST).unlink()
    with pytest.raises(CheckpointError, match=MANIFEST):
        load(saved.path)


def test_latest_skips_a_damaged_newer_checkpoint(tmp_path):
    store = CheckpointStore(tmp_path, keep=3)
    store.save(1, _state(1))
    newest = store.save(2, _state(2))
    (newest.path / "rng.pt").write_bytes(b"")
    with pytest.warns(UserWarning, match=r"rng\.pt"):
        assert store.latest().step == 1


def test_missing_listed_file_is_refused(tmp_path):
    saved = CheckpointStore(tmp_path, keep=3).save(5, _state(5))
    (saved.path / "rng.pt").unlink()
    with pytest.raises(CheckpointError, match=r"rng\.pt.*missing"):
        verify(saved.path)
    manifest = json.loads((saved.path / MANIFEST).read_text())
    assert set(manifest["files"]) == {"generator.pt", "rng.pt", "progress.pt"}


def test_empty_store_has_no_latest(tmp_path):
    assert CheckpointStore(tmp_path / "none", keep=1).latest() is None


def test_schedule_is_due_on_step_multiples_or_after_the_time_limit():
    now = [0.0]
    schedule = CheckpointSchedule(Checkpointing(every_steps=10, every_minutes=1.0), lambda: now[0])
    assert not schedule.due(3)
    assert schedule.due(10)
    now[0] = 61.0
    assert schedule.due(4)
    schedule.saved()
    assert not schedule.due(5)
