"""Data parallelism without DDP wrappers: one gradient all-reduce per network update, called by
the step between backward and the optimiser (so D's gradients are never touched by G's step),
and rank 0's decisions shared with every replica. Works on any torch.distributed backend."""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def average_gradients(network: nn.Module) -> None:
    """Replace each gradient of ``network`` by its mean over the replicas, in one all-reduce."""
    if not is_distributed():
        return
    grads = [p.grad for p in network.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    for grad, averaged in zip(grads, flat.split([g.numel() for g in grads]), strict=True):
        grad.copy_(averaged.view_as(grad))


def average_gradients_after_backward(network: nn.Module) -> None:
    """For loops that own their backward and step (pretraining): each parameter's gradient is
    averaged over the replicas as soon as backward has accumulated it."""
    if not is_distributed():
        return
    world = dist.get_world_size()

    def hook(parameter: torch.Tensor) -> None:
        dist.all_reduce(parameter.grad)
        parameter.grad /= world

    for parameter in network.parameters():
        if parameter.requires_grad:
            parameter.register_post_accumulate_grad_hook(hook)


def rank_zero_decides(decisions: tuple[bool, ...], device: torch.device) -> tuple[bool, ...]:
    """Rank 0's ``decisions`` on every replica, in one broadcast (wall-clock schedules differ
    between processes, and a step's decisions cost one collective however many there are)."""
    if not is_distributed():
        return decisions
    flags = torch.tensor([1.0 if d else 0.0 for d in decisions], device=device)
    dist.broadcast(flags, src=0)
    return tuple(bool(f) for f in flags.tolist())


def gather_objects(value) -> list:
    """``value`` of every replica, in rank order, on every replica."""
    if not is_distributed():
        return [value]
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, value)
    return gathered


def broadcast_from_rank_zero(value):
    """Rank 0's ``value`` on every replica."""
    if not is_distributed():
        return value
    holder = [value]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]
