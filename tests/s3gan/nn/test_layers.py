"""Initialisation schemes and spectral norm of every weight layer."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn.utils import parametrize

from s3gan.nn.layers import Layers


def test_orthogonal_rows_are_orthonormal():
    conv = Layers(init="orthogonal", spectral_norm=False).conv(32, 16, 3)
    w = conv.weight.flatten(1)  # [16, 288]
    torch.testing.assert_close(w @ w.T, torch.eye(16), atol=1e-5, rtol=0)
    assert (conv.bias == 0).all()


def test_normal_has_standard_deviation_002():
    linear = Layers(init="normal", spectral_norm=False).linear(400, 500)
    assert linear.weight.mean().abs() < 1e-3
    assert abs(linear.weight.std().item() - 0.02) < 5e-4


def test_xavier_is_glorot_uniform():
    linear = Layers(init="xavier", spectral_norm=False).linear(300, 100)
    bound = math.sqrt(6 / (300 + 100))
    assert linear.weight.abs().max() <= bound
    assert linear.weight.abs().max() > 0.95 * bound


def test_spectral_norm_makes_the_largest_singular_value_one():
    torch.manual_seed(0)
    linear = Layers(init="normal").linear(64, 32)
    assert parametrize.is_parametrized(linear, "weight")
    for _ in range(30):  # one power iteration per training-mode forward
        linear(torch.randn(1, 64))
    linear.eval()
    sigma = torch.linalg.matrix_norm(linear.weight.detach(), ord=2)
    assert abs(sigma.item() - 1.0) < 1e-3
    original = linear.parametrizations.weight.original
    assert torch.linalg.matrix_norm(original.detach(), ord=2) < 0.5  # 0.02·(√64+√32) ≈ 0.27


def test_unknown_init_is_named():
    with pytest.raises(ValueError, match="model.init"):
        Layers(init="kaiming")
