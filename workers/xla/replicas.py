"""One XLA replica per local chip: what a Ray worker on a TPU host runs its training in.

``torch_xla.launch`` starts one process per chip of the host (PJRT hands each its chip, and with
the backend's host list the replicas of every host form one world); each replica joins the
``xla`` process group (``xla://``: rank and world size from PJRT), which the cross-replica
BatchNorm's differentiable all-reduce runs over, then runs ``fn(*args)``.
"""

from __future__ import annotations

from collections.abc import Callable


def launch(fn: Callable[..., None], *args) -> None:
    """Run ``fn(*args)`` in one replica per local XLA device; ``fn`` and ``args`` must pickle."""
    import torch_xla

    torch_xla.launch(_replica, args=(fn, args))


def _replica(index: int, fn: Callable[..., None], args: tuple) -> None:
    import torch.distributed as dist
    import torch_xla.distributed.xla_backend  # noqa: F401  (registers the "xla" backend)

    dist.init_process_group("xla", init_method="xla://")
    try:
        fn(*args)
    finally:
        dist.destroy_process_group()
