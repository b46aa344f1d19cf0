"""Cross-replica BatchNorm against single-process BatchNorm on the concatenated batch."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
from torch import nn

from s3gan.nn.conditional_bn import ConditionalBatchNorm2d
from s3gan.nn.cross_replica_bn import (
    CrossReplicaBatchNorm2d,
    cross_replica_batch_norms,
    replica_local,
)
from s3gan.nn.layers import Layers
from tests.fixtures.process_group import run_replicas

WORLD = 2


def _inputs():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2 * WORLD + 2, 5, 4, 3, generator=g) * 3 + 1
    upstream = torch.randn(x.shape, generator=g)  # dL/dy, so the loss weighs every output
    return x, upstream


def _reference():
    x, upstream = _inputs()
    x.requires_grad_(True)
    norm = nn.BatchNorm2d(5, affine=True)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-1, 1)
    y = norm(x)
    (y * upstream).sum().backward()
    return norm, y.detach(), x.grad, norm.weight.grad, norm.bias.grad


def _replica(rank: int) -> tuple:
    reference, *_ = _reference()
    x, upstream = _inputs()
    # Uneven shares: the global count, not the replica count, weighs each replica.
    sizes = [2, x.shape[0] - 2]
    mine = slice(sum(sizes[:rank]), sum(sizes[: rank + 1]))
    x_local = x[mine].clone().requires_grad_(True)
    norm = CrossReplicaBatchNorm2d(5, affine=True)
    with torch.no_grad():
        norm.weight.copy_(reference.weight)
        norm.bias.copy_(reference.bias)
    y = norm(x_local)
    (y * upstream[mine]).sum().backward()
    weight_grad, bias_grad = norm.weight.grad.clone(), norm.bias.grad.clone()
    for grad in (weight_grad, bias_grad):  # a data-parallel trainer sums these too
        dist.all_reduce(grad)
    found = (y.detach(), x_local.grad, weight_grad, bias_grad, norm.running_mean,
             norm.running_var)
    return tuple(t.numpy().copy() for t in found)


@pytest.mark.slow
def test_two_replicas_equal_one_batch_norm_on_the_whole_batch_gradients_too():
    results = {rank: [torch.from_numpy(a) for a in arrays]
               for rank, arrays in run_replicas(_replica, WORLD).items()}
    reference, y, x_grad, weight_grad, bias_grad = _reference()
    torch.testing.assert_close(torch.cat([results[r][0] for r in range(WORLD)]), y)
    torch.testing.assert_close(torch.cat([results[r][1] for r in range(WORLD)]), x_grad)
    for rank in range(WORLD):
        torch.testing.assert_close(results[rank][2], weight_grad)
        torch.testing.assert_close(results[rank][3], bias_grad)
        torch.testing.assert_close(results[rank][4], reference.running_mean)
        torch.testing.assert_close(results[rank][5], reference.running_var)


def _bf16_replica(rank: int) -> tuple:
    """Replica ``rank``'s half of a bf16 batch whose channel means (40) dwarf their spread (1):
    sums of bf16-rounded values would lose the variance entirely."""
    x = (torch.randn(8, 3, 6, 6, generator=torch.Generator().manual_seed(2)) + 40).bfloat16()
    norm = CrossReplicaBatchNorm2d(3, affine=False)
    y = norm(x.chunk(WORLD)[rank])
    return y.float().numpy().copy(), norm.running_var.numpy().copy(), x.float().numpy().copy()


@pytest.mark.slow
def test_bf16_inputs_are_normalised_with_float32_statistics():
    results = run_replicas(_bf16_replica, WORLD)
    x = torch.from_numpy(results[0][2])
    reference = nn.BatchNorm2d(3, affine=False)
    expected = reference(x)  # float32 on the same bf16-rounded values
    y = torch.cat([torch.from_numpy(results[r][0]) for r in range(WORLD)])
    torch.testing.assert_close(y, expected, atol=0.2, rtol=0)  # bf16 output rounding at 40σ
    assert (y.std(dim=(0, 2, 3)) - 1).abs().max() < 0.05
    for rank in range(WORLD):
        torch.testing.assert_close(torch.from_numpy(results[rank][1]), reference.running_var,
                                   rtol=1e-4, atol=0)


def test_without_a_process_group_it_is_batch_norm_including_cumulative_statistics():
    x, _ = _inputs()
    ours, theirs = CrossReplicaBatchNorm2d(5, momentum=None), nn.BatchNorm2d(5, momentum=None)
    for chunk in x.split(3):
        torch.testing.assert_close(ours(chunk), theirs(chunk))
    torch.testing.assert_close(ours.running_var, theirs.running_var)
    assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked) == 2
    ours.eval(), theirs.eval()
    torch.testing.assert_close(ours(x), theirs(x))


def test_conversion_replaces_conditional_batch_norms_and_keeps_their_state():
    layers = Layers(spectral_norm=False, init="normal")
    block = nn.Sequential(ConditionalBatchNorm2d(5, 7, "gamma", layers))
    x, _ = _inputs()
    condition = torch.randn(x.shape[0], 7)
    before = block[0](x, condition)
    statistics = block[0].norm.running_mean.clone()
    norm = block[0].norm
    cross_replica_batch_norms(block)
    assert block[0].norm is norm and type(norm) is CrossReplicaBatchNorm2d
    with replica_local(block):
        assert type(norm) is nn.BatchNorm2d
    assert type(norm) is CrossReplicaBatchNorm2d
    torch.testing.assert_close(block[0].norm.running_mean, statistics)
    torch.testing.assert_close(block[0](x, condition), before)
