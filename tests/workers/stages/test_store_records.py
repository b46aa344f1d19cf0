"""A node-local checkpoint store's records survive a move to another node through the run's
storage: what counted rollbacks and protected checkpoints before is what counts after."""

import json
from pathlib import Path

from s3gan_workers.stages.store_records import keep_records, restore_records
from s3gan_workers.stages.train import rank_zero_store

from s3gan.data.storage import open_location
from s3gan.spec.model import ExperimentSpec
from s3gan.train.retention import Retention
from s3gan.train.rollback import LOG, read_rollbacks
from tests.fixtures.tiny_networks import tiny_biggan_experiment

ROLLBACKS = [{"detected_at": 40, "restored_step": 30, "reasons": ["fid_jump"],
              "g_learning_rate": 5e-5, "d_learning_rate": 2e-4}]


def _store_with_records(root: Path) -> None:
    retention = Retention(root)
    retention.mark_good(30)
    retention.record_fid(20, 41.5)
    (root / LOG).write_text(json.dumps(ROLLBACKS))


def test_records_kept_with_the_run_come_back_whole_into_a_fresh_store(tmp_path):
    run = open_location(str(tmp_path / "run"))
    first_node = tmp_path / "node-a" / "checkpoints"
    _store_with_records(first_node)
    keep_records(first_node, run, "train-abc")
    second_node = tmp_path / "node-b" / "checkpoints"
    restore_records(run, "train-abc", second_node)
    assert Retention(second_node).protected() == {20, 30}
    assert [r.restored_step for r in read_rollbacks(second_node)] == [30]
    assert sorted(p.name for p in second_node.iterdir()) == ["retention.json", LOG]


def test_a_run_that_kept_no_records_restores_none(tmp_path):
    run = open_location(str(tmp_path / "run"))
    keep_records(tmp_path / "empty", run, "train-abc")
    restore_records(run, "train-abc", tmp_path / "fresh")
    assert list((tmp_path / "fresh").iterdir()) == []


def test_a_scratch_store_starts_from_the_kept_records_not_from_what_the_node_held(tmp_path):
    run = open_location(str(tmp_path / "run"))
    kept = tmp_path / "elsewhere"
    _store_with_records(kept)
    keep_records(kept, run, "train-abc")
    scratch = tmp_path / "scratch" / "checkpoints"
    (scratch / "step-000000999").mkdir(parents=True)  # another run's, under the same key
    spec = ExperimentSpec.model_validate(tiny_biggan_experiment(10)["spec"])
    job = {"checkpoints": str(scratch), "scratch_store": True, "directory": "train-abc"}
    store, retention = rank_zero_store(job, spec, run)
    assert store.latest() is None
    assert retention.protected() == {20, 30}
    assert len(read_rollbacks(scratch)) == 1
