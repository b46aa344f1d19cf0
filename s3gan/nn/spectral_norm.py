"""Spectral normalisation (Miyato et al. 2018, eq. 8): W_SN = W / σ(W), σ(W) = uᵀ W v with u, v
from one power iteration per training forward (none in eval), as in G and D of the paper
(section 4).

This is torch's ``parametrizations.spectral_norm`` with one change: σ is ``torch.dot(u, W v)``
where torch computes ``torch.vdot(u, W v)``. torch-xla has no lowering for ``vdot``: every
spectral-norm forward ran it on the CPU, which executed the pending graph, copied W, u and v to
the host and sent σ back, one small program per layer per forward. ``dot`` is lowered, so a
network update stays one graph. For real tensors ``vdot`` is ``dot`` (no conjugation), and
eagerly the two give bit-identical σ; everything else (initial vectors and their 15 power
iterations, the in-place update of the ``_u``/``_v`` buffers, eps, the state-dict keys
``parametrizations.weight.original`` and ``parametrizations.weight.0._u``/``_v``) is torch's
own code, so checkpoints written with torch's parametrization load unchanged.

Under bf16 autocast the power iteration and σ still run in float32 (autocast is switched off
inside the parametrization; on CUDA it would otherwise round ``mv``'s products to bf16, and
the estimate of σ, which every SN layer divides by, would drift step after step); the layer
casts the normalised float32 weight to bf16 for its own product as usual.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _SpectralNorm


class SpectralNorm(_SpectralNorm):
    """torch's spectral-norm parametrization with σ computed by ``torch.dot``."""

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        with torch.autocast(weight.device.type, enabled=False):
            return self._normalised(weight)

    def _normalised(self, weight: torch.Tensor) -> torch.Tensor:
        if weight.ndim == 1:
            return super().forward(weight)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        # Clones, as torch's: the in-place power iteration of a second forward (D on reals,
        # then on fakes) must not change the vectors the first forward's backward needs.
        u = self._u.clone(memory_format=torch.contiguous_format)
        v = self._v.clone(memory_format=torch.contiguous_format)
        sigma = torch.dot(u, torch.mv(weight_mat, v))
        return weight / sigma


def spectral_norm(module: nn.Module, eps: float = 1e-12) -> nn.Module:
    """``module`` with its ``weight`` spectrally normalised along dim 0 (the output features of
    ``Linear`` and ``Conv2d``, the rows of ``Embedding``), one power iteration per forward."""
    weight = getattr(module, "weight", None)
    if not isinstance(weight, torch.Tensor):
        raise ValueError(f"spectral_norm: {type(module).__name__} has no tensor 'weight'")
    parametrize.register_parametrization(module, "weight", SpectralNorm(weight, eps=eps))
    return module
