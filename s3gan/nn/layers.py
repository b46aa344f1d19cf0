"""How every weight layer of G and D is made: its initialisation and spectral norm.

Spectral normalisation (Miyato et al. 2018, eq. 8: W / σ(W) with σ estimated by one
power iteration per step) is :mod:`s3gan.nn.spectral_norm` (torch's parametrization, with σ
in a form torch-xla compiles); the paper uses it in both G and D (section 4). Initialisation
follows compare_gan's ``weights.initializer``: "orthogonal" (its BigGAN-128 config), "normal"
(N(0, 0.02), its default) or "xavier" (Glorot uniform, BigGAN-PyTorch's). Biases start at zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch
from torch import nn

from s3gan.nn.spectral_norm import spectral_norm

Init = Literal["orthogonal", "normal", "xavier"]


@dataclass(frozen=True)
class Layers:
    init: Init = "orthogonal"
    spectral_norm: bool = True

    def __post_init__(self) -> None:
        if self.init not in get_args(Init):
            raise ValueError(f"model.init must be one of {get_args(Init)}, got {self.init!r}")

    def initialise(self, weight: torch.Tensor) -> None:
        with torch.no_grad():
            if self.init == "orthogonal":
                nn.init.orthogonal_(weight)
            elif self.init == "normal":
                nn.init.normal_(weight, 0.0, 0.02)
            else:
                nn.init.xavier_uniform_(weight)

    def normalised(self, module: nn.Module) -> nn.Module:
        """The module with its ``weight`` spectrally normalised when SN is on."""
        return spectral_norm(module, eps=1e-12) if self.spectral_norm else module

    def linear(self, in_features: int, out_features: int, bias: bool = True) -> nn.Module:
        layer = nn.Linear(in_features, out_features, bias=bias)
        self._reset(layer)
        return self.normalised(layer)

    def conv(self, in_channels: int, out_channels: int, kernel_size: int,
             bias: bool = True) -> nn.Module:
        layer = nn.Conv2d(in_channels, out_channels, kernel_size,
                          padding=kernel_size // 2, bias=bias)
        self._reset(layer)
        return self.normalised(layer)

    def _reset(self, layer: nn.Linear | nn.Conv2d) -> None:
        self.initialise(layer.weight)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
