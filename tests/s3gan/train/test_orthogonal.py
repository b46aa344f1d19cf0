"""BigGAN's orthogonal regularisation, eq. 3: β‖WᵀW ⊙ (1 − I)‖²_F over G's kernels."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from s3gan.train.orthogonal import orthogonal_penalty, regularised_kernels


def test_orthogonal_rows_cost_nothing_whatever_their_norms():
    layer = nn.Linear(4, 3, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.eye(3, 4) * torch.tensor([[2.0], [0.5], [3.0]]))
    assert orthogonal_penalty(layer, beta=1e-4).item() == 0.0


def test_matches_the_off_diagonal_gram_by_hand():
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3)
    w = conv.weight.detach().reshape(3, -1)
    gram = w @ w.T
    by_hand = sum(gram[i, j] ** 2 for i in range(3) for j in range(3) if i != j)
    torch.testing.assert_close(orthogonal_penalty(conv, beta=0.5), 0.5 * by_hand)


def test_reaches_the_unnormalised_kernel_under_spectral_norm_and_skips_embeddings():
    net = nn.ModuleDict({"fc": spectral_norm(nn.Linear(5, 4)), "embed": nn.Embedding(10, 4)})
    kernels = regularised_kernels(net)
    assert len(kernels) == 1 and kernels[0] is net["fc"].parametrizations.weight.original
    orthogonal_penalty(net, beta=1.0).backward()
    assert net["fc"].parametrizations.weight.original.grad.abs().sum() > 0
    assert net["embed"].weight.grad is None
