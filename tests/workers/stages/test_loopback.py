"""On the embedded (loopback) cluster every socket torch's process group listens on is bound to
127.0.0.1: the TCPStore rank 0 serves and gloo's pairs. Checked from inside two Ray Train
workers, which also all-reduce through the group."""

from __future__ import annotations

import ipaddress
import sys

import pytest
import ray.cloudpickle
import ray.train
import torch
import torch.distributed as dist
from ray.train.torch import TorchTrainer
from s3gan_workers.stages.loopback import LoopbackTorchConfig

pytestmark = [pytest.mark.ray, pytest.mark.slow]
# Ray workers cannot import the test package: they get this module's functions by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


def listening_addresses() -> list[str]:
    """host:port of every TCP socket this process listens on, from /proc (IPv4 and IPv6)."""
    import os

    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        with open(table) as f:
            for line in f.read().splitlines()[1:]:
                fields = line.split()
                if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                    continue
                address, port = fields[1].split(":")
                found.append(f"{_host(address, width)}:{int(port, 16)}")
    return found


def _host(hexed: str, width: int) -> str:
    """/proc/net/tcp's hex address as text; an IPv4-mapped IPv6 address as its IPv4 one."""
    raw = bytes.fromhex(hexed)
    if width == 8:
        return str(ipaddress.IPv4Address(raw[::-1]))
    address = ipaddress.IPv6Address(b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
    return str(address.ipv4_mapped or address)


def _worker() -> dict:
    total = torch.tensor([float(dist.get_rank() + 1)])
    dist.all_reduce(total)  # rank 0 serves the store, so look there, after the group formed
    return {"sum": total.item(), "listening": listening_addresses(),
            "world": dist.get_world_size()}


def test_the_process_group_listens_on_loopback_only(ray_cluster):
    result = TorchTrainer(
        _worker, scaling_config=ray.train.ScalingConfig(num_workers=2,
                                                        resources_per_worker={"CPU": 0.5}),
        torch_config=LoopbackTorchConfig()).fit()
    metrics = result.return_value  # rank 0's
    assert metrics["world"] == 2 and metrics["sum"] == 3.0  # the group works
    assert metrics["listening"], "rank 0 serves the store: something must listen"
    assert all(a.startswith("127.0.0.1:") for a in metrics["listening"]), metrics["listening"]
