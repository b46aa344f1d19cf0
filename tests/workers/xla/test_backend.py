"""The torch-xla backend: PJRT's host list for a multi-host slice, and a clear error on a worker
that cannot run torch-xla on a TPU, raised by Ray Train before the training function starts."""

from __future__ import annotations

import os
import time

import pytest
import ray.train
from ray.train.torch import TorchTrainer
from s3gan_workers.xla.backend import TpuXlaConfig, pjrt_environment

HOSTS = ["10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7"]


def test_the_host_list_comes_from_the_worker_group_in_rank_order():
    assert pjrt_environment("TPU", HOSTS, 2, {}) == {
        "PJRT_DEVICE": "TPU", "TPU_WORKER_HOSTNAMES": ",".join(HOSTS), "TPU_WORKER_ID": "2"}


def test_the_kuberay_webhooks_host_list_is_kept():
    webhook = {"TPU_WORKER_HOSTNAMES": "slice-0-0.svc,slice-0-1.svc", "TPU_WORKER_ID": "1"}
    assert pjrt_environment("TPU", HOSTS[:2], 0, webhook) == {"PJRT_DEVICE": "TPU"}


def test_the_cpu_device_needs_no_hosts():
    assert pjrt_environment("CPU", HOSTS[:1], 0, {}) == {"PJRT_DEVICE": "CPU"}


def _seen_environment(config) -> dict:
    context = ray.train.get_context()
    assert context.get_world_size() == 1
    ray.train.report({name: os.environ.get(name, "") for name in
                      ("PJRT_DEVICE", "TPU_WORKER_HOSTNAMES", "TPU_WORKER_ID")})


@pytest.mark.ray
def test_a_worker_without_a_tpu_fails_naming_what_is_missing(ray_cluster, tmp_path):
    trainer = TorchTrainer(
        _seen_environment, torch_config=TpuXlaConfig(device="TPU"),
        scaling_config=ray.train.ScalingConfig(num_workers=1,
                                               resources_per_worker={"CPU": 1}),
        run_config=ray.train.RunConfig(
            name="no-tpu", storage_path=str(tmp_path),
            failure_config=ray.train.FailureConfig(controller_failure_limit=0)))
    with pytest.raises(Exception) as failure:  # noqa: B017 (Ray wraps it)
        trainer.fit()
    # Without torch-xla (.venv) the import is what is missing; with it (.venv-xla), the chips.
    assert any(text in str(failure.value) for text in
               ("torch-xla is not importable", "holds no TPU chips")), str(failure.value)
    _release_placement_groups()


def _release_placement_groups() -> None:
    """Ray Train (2.60) keeps the placement group of a worker group whose backend failed to
    start; on the 2-CPU test cluster its CPU would starve every later Ray Train test."""
    from ray._raylet import PlacementGroupID
    from ray.util.placement_group import (
        PlacementGroup,
        placement_group_table,
        remove_placement_group,
    )

    def held() -> list[str]:
        return [i for i, g in placement_group_table().items() if g["state"] == "CREATED"]

    for group_id in held():
        remove_placement_group(PlacementGroup(PlacementGroupID.from_hex(group_id)))
    deadline = time.monotonic() + 30
    while held():
        assert time.monotonic() < deadline, f"placement groups still held: {held()}"
        time.sleep(0.5)
