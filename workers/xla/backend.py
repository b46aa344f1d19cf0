"""A Ray Train backend for torch-xla on TPU hosts (Ray's own ``TorchXLAConfig`` serves AWS
Neuron only).

One Ray Train worker runs on each TPU host of the slice. Before the training function starts,
the backend sets up PJRT on every worker:

- ``PJRT_DEVICE=TPU`` (``CPU`` to run the same code on a machine without TPUs);
- the slice's host list and this host's index, which PJRT needs to join the hosts of a
  multi-host slice: taken from the KubeRay TPU webhook's ``TPU_WORKER_HOSTNAMES`` and
  ``TPU_WORKER_ID`` where the webhook injected them, otherwise derived from the worker group
  (the workers' node addresses in rank order, this worker's rank);
- a check that the worker's environment has torch-xla and, on TPU, that Ray gave the worker TPU
  chips, so a missing TPU is one clear error on the driver instead of a hang in PJRT.

The training function then starts one XLA replica per local chip
(:func:`s3gan_workers.xla.replicas.launch`), each of which joins the ``xla`` process group.
The runtime itself is never initialised in the Ray worker process: PJRT hands the chips to the
first process that opens them, which must be the replicas.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import ray
from ray.train.backend import Backend
from ray.train.torch import TorchConfig

HOSTNAMES = "TPU_WORKER_HOSTNAMES"
WORKER_ID = "TPU_WORKER_ID"


class XlaSetupError(RuntimeError):
    """A Ray worker cannot run torch-xla; the message names what is missing."""


@dataclass
class TpuXlaConfig(TorchConfig):
    """Pass as ``TorchTrainer(..., torch_config=TpuXlaConfig())``. ``device``: the PJRT device
    every worker uses (``TPU`` on TPU hosts); ``backend``: the replicas' process group."""

    backend: str = "xla"
    device: Literal["TPU", "CPU"] = "TPU"

    @property
    def backend_cls(self):
        return TpuXlaBackend


def pjrt_environment(device: str, addresses: list[str], rank: int,
                     inherited: dict[str, str]) -> dict[str, str]:
    """The variables worker ``rank`` of a group on ``addresses`` (rank order) needs; a host list
    the webhook already gave the pod is kept as it is."""
    environment = {"PJRT_DEVICE": device}
    if device == "TPU" and HOSTNAMES not in inherited:
        environment[HOSTNAMES] = ",".join(addresses)
        environment[WORKER_ID] = str(rank)
    return environment


def _node_address() -> str:
    return ray.util.get_node_ip_address()


def _set_environment(environment: dict[str, str]) -> None:
    os.environ.update(environment)


def _inherited() -> dict[str, str]:
    return {name: os.environ[name] for name in (HOSTNAMES, WORKER_ID) if name in os.environ}


def require_xla(device: str) -> None:
    """Raise :class:`XlaSetupError` unless this worker can run torch-xla on ``device``."""
    try:
        import torch_xla  # noqa: F401
    except ImportError as e:
        raise XlaSetupError(
            f"torch-xla is not importable on Ray worker {_node_address()} ({e}); the worker "
            "image needs torch==2.9.0 with torch-xla==2.9.0 (docker target tpu, or "
            "scripts/xla-env.sh)") from None
    if device != "TPU":
        return
    chips = ray.get_runtime_context().get_accelerator_ids().get("TPU", [])
    if not chips:
        raise XlaSetupError(
            f"Ray worker on {_node_address()} holds no TPU chips: the worker group must ask for "
            "them (ScalingConfig(use_tpu=True, resources_per_worker={'TPU': chips per host})) "
            "and the pod must run on a TPU node (google.com/tpu in its resources)")


class TpuXlaBackend(Backend):
    def on_start(self, worker_group, backend_config: TpuXlaConfig) -> None:
        device = backend_config.device
        worker_group.execute(require_xla, device)
        addresses = worker_group.execute(_node_address)
        inherited = worker_group.execute(_inherited)
        for rank, environment in enumerate(inherited):
            worker_group.execute_single(
                rank, _set_environment,
                pjrt_environment(device, addresses, rank, environment))
