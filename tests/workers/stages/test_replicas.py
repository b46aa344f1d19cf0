"""Rank 0's decisions and objects reach every replica, and gradients are averaged, on a real
two-process gloo group."""

import pytest
import torch
from s3gan_workers.stages.replicas import (
    average_gradients,
    broadcast_from_rank_zero,
    gather_objects,
    rank_zero_decides,
)

from tests.fixtures.process_group import run_replicas


def _replica(rank: int) -> dict:
    decisions = (True, False, True) if rank == 0 else (False, True, False)
    layer = torch.nn.Linear(2, 1, bias=False)
    layer.weight.grad = torch.full((1, 2), float(rank + 1))
    average_gradients(layer)
    return {
        "decided": rank_zero_decides(decisions, torch.device("cpu")),
        "object": broadcast_from_rank_zero({"from": rank}),
        "gathered": gather_objects(rank * 10),
        "gradient": layer.weight.grad.tolist(),
    }


@pytest.fixture(scope="module")
def two_replicas():
    return run_replicas(_replica, world=2)


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
