"""BigGAN's orthogonal regularisation (Brock et al. 2019, eq. 3):

    R_β(W) = β ‖WᵀW ⊙ (1 − I)‖²_F

Only the off-diagonal Gram entries are penalised, so filter norms are free and only their
pairwise cosines are pushed to zero. Applied to G's convolution and linear kernels, each viewed as
[out, in·kh·kw] with the Gram matrix between output filters (BigGAN-PyTorch's layout); class
embeddings are left out (BigGAN-PyTorch excludes its shared embedding too). The S³GAN runs keep
it off (paper section 4); the weight comes from ``training.orthogonalRegularization``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize


def regularised_kernels(network: nn.Module) -> list[torch.Tensor]:
    """The trainable kernels R_β applies to: the unnormalised ones under spectral norm."""
    kernels = []
    for module in network.modules():
        if not isinstance(module, nn.Conv2d | nn.Linear):
            continue
        if parametrize.is_parametrized(module, "weight"):
            kernels.append(module.parametrizations.weight.original)
        else:
            kernels.append(module.weight)
    return kernels


def orthogonal_penalty(network: nn.Module, beta: float) -> torch.Tensor:
    """β Σ_W ‖W Wᵀ ⊙ (1 − I)‖²_F over the network's kernels (a scalar with gradient)."""
    total = None
    for kernel in regularised_kernels(network):
        w = kernel.reshape(kernel.shape[0], -1)
        gram = w @ w.T
        off_diagonal = gram - torch.diag_embed(torch.diagonal(gram))
        term = off_diagonal.square().sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError(f"{type(network).__name__} has no convolution or linear kernels")
    return beta * total
