"""Per-step time of the data-parallel trainer (2 replicas) against the single-process trainer at
the same global batch, measured in the same run.

The replicas are what a Ray Train worker runs (``s3gan_workers.stages.train``): the trainer's
step on half the global batch, cross-replica BatchNorm in G, one gradient all-reduce per network
update, on a gloo process group between two forked processes with one thread each. The baseline
is one process with two threads. Ray's start-up (seconds, once per stage) is left out: this times
the step. On a machine with spare cores the replicas should approach half the baseline's time;
on 2 cores both use the same two cores.

    python -m benchmarks distributed_step
"""

from __future__ import annotations

import multiprocessing
import socket
import statistics
import time

import torch
import torch.distributed as dist
from s3gan_workers.stages.replicas import average_gradients

from s3gan.data.batch import Batch
from s3gan.methods import build_method
from s3gan.nn.cross_replica_bn import cross_replica_batch_norms
from s3gan.spec import parse_experiment
from s3gan.train.trainer import Trainer

GLOBAL_BATCH = 32
WARMUP, TIMED = 2, 6


def _spec(workers: int):
    return parse_experiment({
        "apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
        "metadata": {"name": "bench"},
        "spec": {"method": "biggan",
                 "dataset": {"uri": "unused", "resolution": 32, "numClasses": 10},
                 "model": {"ch": 16, "sharedEmbeddingDim": 16, "zDim": 64},
                 "training": {"globalBatch": GLOBAL_BATCH},
                 "resources": {"workers": workers}},
    }).spec


def _batches(size: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    while True:
        yield Batch(torch.randint(0, 256, (size, 3, 32, 32), dtype=torch.uint8, generator=g),
                    torch.randint(0, 10, (size,), generator=g), torch.arange(size),
                    torch.ones(size, dtype=torch.bool))


def _timed_steps(trainer: Trainer) -> list[float]:
    times = []
    for i in range(WARMUP + TIMED):
        started = time.perf_counter()
        trainer.train_step()
        if i >= WARMUP:
            times.append(time.perf_counter() - started)
    return times


def _replica(rank: int, world: int, port: int, results: multiprocessing.Queue) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    try:
        spec = _spec(world)
        trainer = Trainer(spec, build_method(spec), _batches(spec.micro_batch, rank), "cpu",
                          average_gradients, rank, world)
        cross_replica_batch_norms(trainer.generator)
        results.put((rank, _timed_steps(trainer)))
    finally:
        dist.destroy_process_group()


def distributed(world: int = 2) -> list[float]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    replicas = [context.Process(target=_replica, args=(r, world, port, queue))
                for r in range(world)]
    for replica in replicas:
        replica.start()
    results = dict(queue.get(timeout=600) for _ in range(world))
    for replica in replicas:
        replica.join()
    # A step ends when the slowest replica ends it.
    return [max(step) for step in zip(*results.values(), strict=True)]


def single() -> list[float]:
    torch.set_num_threads(2)
    spec = _spec(1)
    return _timed_steps(Trainer(spec, build_method(spec), _batches(GLOBAL_BATCH, 0), "cpu"))


def main() -> None:
    baseline = statistics.median(single())
    replicas = statistics.median(distributed())
    print(f"G+D step (2 D + 1 G), BigGAN ch 16 at 32×32, global batch {GLOBAL_BATCH}, "
          f"median of {TIMED}:")
    print(f"  single process, 2 threads:        {baseline * 1e3:8.1f} ms/step (baseline)")
    print(f"  2 replicas × 1 thread (gloo):     {replicas * 1e3:8.1f} ms/step "
          f"(×{replicas / baseline:.2f} the baseline's time)")


if __name__ == "__main__":
    main()
