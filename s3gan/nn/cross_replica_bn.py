"""Cross-replica BatchNorm: batch statistics over the global batch of every data-parallel replica.

BigGAN (Brock et al. 2019, section 3) and S³GAN (paper section 4) train on TPU pods with G's
BatchNorm statistics all-reduced across cores, so each replica normalises with the mean and
variance of the whole global batch:

    μ = Σ_r Σ_i x_ri / n,   σ² = Σ_r Σ_i x_ri² / n − μ²,   n = Σ_r n_r

Each replica sums (count, Σx, Σx²) per channel locally, and one differentiable all-reduce
(``torch.distributed.nn.functional.all_reduce``, whose backward all-reduces the gradients)
makes them global, so forward and backward equal single-process BatchNorm on the concatenated
batch. It works on any backend (gloo, NCCL, XLA); torch's ``SyncBatchNorm`` refuses CPU tensors.
Outside an initialised process group (or in a group of one) it is ordinary BatchNorm. The sums
are float32 whatever the input's type: under bf16 autocast, Σx² − nμ² of bf16-rounded sums
loses the variance of any channel whose mean is large against its spread.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn
from torch import nn


class CrossReplicaBatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` whose training-mode statistics span every replica of the group."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        if x.dim() != 4:
            raise ValueError(f"CrossReplicaBatchNorm2d expects [N, C, H, W], got {tuple(x.shape)}")
        if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        channels = (0, 2, 3)
        wide = x.float()
        local = torch.cat([
            wide.new_full((1,), x.numel() / x.shape[1]),
            wide.sum(dim=channels),
            wide.square().sum(dim=channels),
        ])
        local = dist_fn.all_reduce(local)
        count, sums, squares = local[0], *local[1:].chunk(2)
        mean = sums / count
        variance = (squares / count - mean.square()).clamp_min(0)
        self._track(mean.detach(), variance.detach(), count.detach())
        shape = (1, -1, 1, 1)
        scale = torch.rsqrt(variance + self.eps).to(x.dtype)
        y = (x - mean.to(x.dtype).view(shape)) * scale.view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y

    @torch.no_grad()
    def _track(self, mean: torch.Tensor, variance: torch.Tensor, count: torch.Tensor) -> None:
        """Running statistics as ``nn.BatchNorm2d`` keeps them (unbiased variance; a cumulative
        average when ``momentum`` is None)."""
        if not self.track_running_stats:
            return
        self.num_batches_tracked += 1
        momentum = (1.0 / float(self.num_batches_tracked) if self.momentum is None
                    else self.momentum)
        unbiased = variance * count / (count - 1).clamp_min(1)
        self.running_mean.lerp_(mean.to(self.running_mean.dtype), momentum)
        self.running_var.lerp_(unbiased.to(self.running_var.dtype), momentum)


def cross_replica_batch_norms(module: nn.Module) -> nn.Module:
    """``module`` with every plain ``nn.BatchNorm2d`` made a :class:`CrossReplicaBatchNorm2d`,
    in place. The layers keep their identity, parameters and buffers (only the class changes, it
    adds no state), so optimisers and averaged copies built earlier still hold the same tensors."""
    for norm in module.modules():
        if type(norm) is nn.BatchNorm2d:
            norm.__class__ = CrossReplicaBatchNorm2d
    return module


@contextmanager
def replica_local(module: nn.Module) -> Iterator[nn.Module]:
    """Within the block, ``module``'s cross-replica BatchNorms normalise locally: for work one
    replica does alone (sampling, standing statistics), where an all-reduce would wait forever."""
    swapped = [m for m in module.modules() if type(m) is CrossReplicaBatchNorm2d]
    for norm in swapped:
        norm.__class__ = nn.BatchNorm2d
    try:
        yield module
    finally:
        for norm in swapped:
            norm.__class__ = CrossReplicaBatchNorm2d
