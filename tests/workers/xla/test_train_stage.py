"""The train stage's choice of training function and workers by accelerator kind: torch-xla
replicas on a TPU slice's hosts, the eager loop elsewhere (NCCL between GPU workers); a spec
whose slice does not add up fails before any worker starts."""

from __future__ import annotations

import pytest
from s3gan_workers.stages import train
from s3gan_workers.xla import train_loop
from s3gan_workers.xla.backend import TpuXlaConfig
from s3gan_workers.xla.slice import SliceError

from s3gan.spec import ExperimentSpec

V4_2X2X4 = {"kind": "tpu", "type": "tpu-v4-podslice", "topology": "2x2x4", "perWorker": 4}


def _spec(resources: dict) -> ExperimentSpec:
    return ExperimentSpec.model_validate({"dataset": {"uri": "gs://b/d"},
                                          "resources": resources})


def test_a_tpu_slice_trains_torch_xla_replicas_one_worker_per_host():
    group = train.worker_group(_spec({"accelerator": V4_2X2X4, "workers": 4}))
    assert group["train_loop_per_worker"] is train_loop.host_worker
    config = group["torch_config"]
    assert isinstance(config, TpuXlaConfig) and (config.device, config.backend) == ("TPU",
                                                                                    "xla")
    scaling = group["scaling_config"]
    assert scaling.num_workers == 4 and scaling.use_tpu
    assert scaling.resources_per_worker["TPU"] == 4


@pytest.mark.parametrize(("accelerator", "backend"), [
    ({"kind": "gpu", "type": "nvidia-h200-141gb", "perWorker": 1}, "nccl"), (None, "gloo")])
def test_other_kinds_train_the_eager_loop_gpus_in_an_nccl_group(accelerator, backend):
    resources = {"workers": 2} | ({"accelerator": accelerator} if accelerator else {})
    group = train.worker_group(_spec(resources))
    assert group["train_loop_per_worker"] is train._worker
    assert group["torch_config"].backend == backend
    assert group["scaling_config"].num_workers == 2
    assert group["scaling_config"].use_gpu == (backend == "nccl")
    assert not group["scaling_config"].use_tpu


def test_a_tpu_spec_whose_workers_are_not_the_slices_hosts_fails_naming_the_field():
    with pytest.raises(SliceError, match="spec.resources.workers"):
        train.worker_group(_spec({"accelerator": V4_2X2X4, "workers": 2}))
