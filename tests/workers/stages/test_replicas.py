"""Rank 0's decisions and objects reach every replica, and gradients are averaged, on a real
two-process gloo group."""

import multiprocessing
import os

import pytest
import torch
import torch.distributed as dist
from s3gan_workers.stages.replicas import (
    average_gradients,
    broadcast_from_rank_zero,
    gather_objects,
    rank_zero_decides,
)

from tests.fixtures.s3server import free_port

WORLD = 2


def _replica(rank: int, port: int, results: multiprocessing.Queue) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        decisions = (True, False, True) if rank == 0 else (False, True, False)
        layer = torch.nn.Linear(2, 1, bias=False)
        layer.weight.grad = torch.full((1, 2), float(rank + 1))
        average_gradients(layer)
        results.put((rank, {
            "decided": rank_zero_decides(decisions, torch.device("cpu")),
            "object": broadcast_from_rank_zero({"from": rank}),
            "gathered": gather_objects(rank * 10),
            "gradient": layer.weight.grad.tolist(),
        }))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_replicas():
    # Forked, so the replicas run this module's code without importing the test package.
    context = multiprocessing.get_context("fork")
    results, port = context.Queue(), free_port()
    replicas = [context.Process(target=_replica, args=(rank, port, results))
                for rank in range(WORLD)]
    for replica in replicas:
        replica.start()
    gathered = dict(results.get(timeout=120) for _ in range(WORLD))
    for replica in replicas:
        replica.join(timeout=30)
        assert replica.exitcode == 0
    return gathered


def test_every_replica_gets_rank_zeros_decisions_in_one_tuple(two_replicas):
    assert two_replicas[0]["decided"] == two_replicas[1]["decided"] == (True, False, True)


def test_rank_zeros_object_reaches_every_replica_and_gathering_keeps_rank_order(two_replicas):
    for rank in (0, 1):
        assert two_replicas[rank]["object"] == {"from": 0}
        assert two_replicas[rank]["gathered"] == [0, 10]


def test_gradients_are_averaged_over_the_replicas(two_replicas):
    assert two_replicas[0]["gradient"] == two_replicas[1]["gradient"] == [[1.5, 1.5]]


def test_a_single_process_decides_alone():
    assert rank_zero_decides((False, True), torch.device("cpu")) == (False, True)
