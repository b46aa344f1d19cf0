"""The train stage's XLA loop on XLA's CPU device, one replica: called as the Ray worker's
replicas call it, and through Ray Train with the TPU backend told to use PJRT's CPU device
(``TpuXlaConfig(device="CPU")``). It trains the tiny run to its last step through replica 0's
chief duties and leaves a checkpoint and a final state that the eager path loads."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch_xla", reason="torch-xla is not installed: run in .venv-xla "
                                        "(scripts/xla-env.sh)")

import ray.train  # noqa: E402
from ray.train.torch import TorchTrainer  # noqa: E402
from s3gan_workers.stages import ray_train, train  # noqa: E402
from s3gan_workers.stages.chief import FINAL  # noqa: E402
from s3gan_workers.stages.run_files import METRICS, grid_name  # noqa: E402
from s3gan_workers.status import NAME_VARIABLE  # noqa: E402
from s3gan_workers.xla.backend import TpuXlaConfig  # noqa: E402
from s3gan_workers.xla.train_loop import STOPPED, host_worker, replica_loop  # noqa: E402

from s3gan.data.convert import convert  # noqa: E402
from s3gan.data.manifest import Settings  # noqa: E402
from s3gan.data.storage import open_location  # noqa: E402
from s3gan.methods import build_method  # noqa: E402
from s3gan.train.checkpoint import CheckpointStore, load  # noqa: E402
from s3gan.train.trainer import Trainer  # noqa: E402
from s3gan.train.xla_step import xla_device  # noqa: E402
from tests.fixtures.datasets import quiet, write_fashion_subset  # noqa: E402
from tests.workers.pipeline_fixtures import TinyNetwork, tiny_experiment  # noqa: E402

STEPS = 2
DIRECTORY = "stages/train/k"


@pytest.fixture
def spec(tmp_path):
    source = write_fashion_subset(tmp_path / "idx", 64, 32)
    convert(str(source), str(tmp_path / "ds"), Settings(32, 1, "raw", 64), workers=1,
            report=quiet)
    spec = tiny_experiment("tiny-xla", "biggan", str(tmp_path / "ds"), steps=STEPS).spec
    resources = spec.resources.model_copy(update={"workers": 1})
    return spec.model_copy(update={"resources": resources})


def _job(spec, run, checkpoints, feature_network) -> dict:
    return {"spec": spec, "run_labels": {"experiment": "tiny-xla", "trial": ""},
            "run_uri": run.uri, "directory": DIRECTORY, "labels": None,
            "checkpoints": str(checkpoints), "scratch_store": False,
            "feature_network": feature_network, "metrics_port": None, "fault": None}


def test_replica_loop_leaves_a_checkpoint_the_eager_path_loads(spec, tmp_path, monkeypatch):
    monkeypatch.delenv(NAME_VARIABLE, raising=False)  # no status reports from a test
    xla_device()  # before any eager backward (see test_xla_step.py)
    run = open_location(str(tmp_path / "run"))
    checkpoints = tmp_path / "run" / DIRECTORY / "checkpoints"

    replica_loop(_job(spec, run, checkpoints, TinyNetwork()))

    latest = CheckpointStore(checkpoints, keep=2).latest()
    assert latest is not None and latest.step == STEPS
    assert not (checkpoints / STOPPED).exists()
    eager = Trainer(spec, build_method(spec), iter(()), "cpu")
    eager.load_state_dict(load(latest.path))
    assert eager.step == STEPS
    final = train.restored_trainer(spec, run, None, f"{DIRECTORY}/{FINAL}", "cpu")
    assert final.step == STEPS
    assert all(p.device.type == "cpu" for p in final.generator.parameters())
    assert (tmp_path / "run" / DIRECTORY / grid_name(STEPS)).stat().st_size > 0
    logged = (tmp_path / "run" / DIRECTORY / METRICS).read_text()
    assert f'"step": {STEPS}' in logged


@pytest.mark.ray
@pytest.mark.slow
def test_host_worker_on_ray_train_hands_ray_the_last_checkpoint(spec, tmp_path, ray_cluster):
    run = open_location(str(tmp_path / "run"))
    checkpoints = tmp_path / "run" / DIRECTORY / "checkpoints"
    # No evaluation point before the last step, so no feature network is built.
    job = _job(spec, run, checkpoints, None)
    result = TorchTrainer(
        host_worker, train_loop_config=job, torch_config=TpuXlaConfig(device="CPU"),
        scaling_config=ray.train.ScalingConfig(num_workers=1, resources_per_worker={"CPU": 1}),
        run_config=ray_train.run_config(run, DIRECTORY, train.NAME),
    ).fit()

    assert result.return_value is None
    assert result.checkpoint is not None
    with result.checkpoint.as_directory() as carried:
        assert train.load_manifest_step(Path(carried)) == STEPS
        state = load(Path(carried))
    eager = Trainer(spec, build_method(spec), iter(()), "cpu")
    eager.load_state_dict(state)
    assert eager.step == STEPS
    assert (tmp_path / "run" / DIRECTORY / FINAL).is_file()
