"""Where training resumes from: the newest checkpoint that verifies, in the store or carried by
Ray Train from the run's storage; damaged ones are never loaded."""

from __future__ import annotations

import pytest
import torch
from ray.train import Checkpoint
from s3gan_workers.stages.train import resume_state

from s3gan.train.checkpoint import CheckpointStore


def _state(step: int) -> dict:
    return {"weights": torch.full((64,), float(step)), "progress": {"step": step}}


def _truncate(checkpoint_dir) -> None:
    part = checkpoint_dir / "weights.pt"
    part.write_bytes(part.read_bytes()[:-10])


def test_a_truncated_newest_checkpoint_is_skipped_for_the_previous_one(tmp_path):
    store = CheckpointStore(tmp_path / "store", keep=3)
    store.save(2, _state(2))
    newest = store.save(4, _state(4))
    _truncate(newest.path)
    with pytest.warns(UserWarning, match="truncated"):
        state = resume_state(store, carried=None)
    assert state["progress"]["step"] == 2


def test_a_fresh_node_resumes_from_the_checkpoint_ray_carried(tmp_path):
    elsewhere = CheckpointStore(tmp_path / "elsewhere", keep=1).save(6, _state(6))
    store = CheckpointStore(tmp_path / "fresh-node", keep=1)
    state = resume_state(store, Checkpoint.from_directory(str(elsewhere.path)))
    assert state["progress"]["step"] == 6
    assert [c.step for c in store.checkpoints()] == [6]


def test_a_damaged_carried_checkpoint_means_a_fresh_start_not_a_bad_one(tmp_path):
    elsewhere = CheckpointStore(tmp_path / "elsewhere", keep=1).save(6, _state(6))
    _truncate(elsewhere.path)
    store = CheckpointStore(tmp_path / "fresh-node", keep=1)
    with pytest.warns(UserWarning, match="truncated"):
        assert resume_state(store, Checkpoint.from_directory(str(elsewhere.path))) is None


def test_nothing_anywhere_is_a_fresh_start(tmp_path):
    assert resume_state(CheckpointStore(tmp_path / "store", keep=1), carried=None) is None
