"""Torch's process group on the embedded cluster, listening on 127.0.0.1 only.

Ray Train's torch backend has rank 0 start torch's TCPStore, whose server binds every interface
(``*:<port>``), even when the whole cluster is this machine's loopback. Here, when worker 0's
node address is 127.0.0.1 (the embedded cluster of ``s3gan run``, ``s3gan sweep`` and the
tests), rank 0 first serves the store itself from a socket bound to 127.0.0.1, and every rank
joins it as a client, the way torchelastic's agent store is joined
(``TORCHELASTIC_USE_AGENT_STORE``); gloo's own pairs are bound to the loopback interface
(``GLOO_SOCKET_IFNAME=lo``). On a real cluster Ray Train's backend runs unchanged.
"""

from __future__ import annotations

import os
import socket

import ray
from ray.train.torch import TorchConfig
from ray.train.torch.config import (
    _set_torch_distributed_env_vars,
    _setup_torch_process_group,
    _TorchBackend,
)

LOOPBACK = "127.0.0.1"
_served: list = []  # rank 0's store server and its socket, alive as long as the worker


def _node_address() -> str:
    return ray.util.get_node_ip_address()


def _serve_store(world_size: int) -> int:
    """In rank 0's process: a TCPStore server on a fresh 127.0.0.1 port; returns the port."""
    import torch.distributed as dist

    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    store = dist.TCPStore(LOOPBACK, port, world_size, is_master=True,
                          master_listen_fd=listener.fileno(), wait_for_workers=False)
    _served[:] = [store, listener]
    return port


def _join_store(port: int) -> None:
    os.environ.update(MASTER_ADDR=LOOPBACK, MASTER_PORT=str(port),
                      TORCHELASTIC_USE_AGENT_STORE="True", GLOO_SOCKET_IFNAME="lo")


class _LoopbackBackend(_TorchBackend):
    def on_start(self, worker_group, backend_config: TorchConfig):
        resources = worker_group.get_resources_per_worker()
        if worker_group.execute_single(0, _node_address) != LOOPBACK or resources.get("TPU", 0):
            return super().on_start(worker_group, backend_config)
        backend = backend_config.backend or ("nccl" if resources.get("GPU", 0) else "gloo")
        world = len(worker_group)
        port = worker_group.execute_single(0, _serve_store, world_size=world)
        worker_group.execute(_join_store, port=port)
        worker_group.execute(_set_torch_distributed_env_vars)
        ray.get([worker_group.execute_single_async(
            rank, _setup_torch_process_group, backend=backend, world_rank=rank, world_size=world,
            init_method="env://", timeout_s=backend_config.timeout_s) for rank in range(world)])


class LoopbackTorchConfig(TorchConfig):
    """``TorchTrainer(..., torch_config=LoopbackTorchConfig())``."""

    @property
    def backend_cls(self):
        return _LoopbackBackend
