"""Class-conditional BatchNorm: gain γ (compare_gan) or 1 + γ (BigGAN-PyTorch)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from s3gan.nn.conditional_bn import ConditionalBatchNorm2d
from s3gan.nn.layers import Layers

PLAIN = Layers(init="normal", spectral_norm=False)


def zeroed(gain: str) -> ConditionalBatchNorm2d:
    cbn = ConditionalBatchNorm2d(4, 6, gain, PLAIN)
    nn.init.zeros_(cbn.gamma.weight)
    nn.init.zeros_(cbn.beta.weight)
    return cbn


def test_zero_weights_give_zero_with_gamma_and_identity_with_one_plus_gamma():
    x, c = torch.randn(8, 4, 5, 5) * 3 + 1, torch.randn(8, 6)
    normalised = F.batch_norm(x, None, None, training=True, eps=1e-5)
    torch.testing.assert_close(zeroed("gamma")(x, c), torch.zeros_like(x))
    torch.testing.assert_close(zeroed("one-plus-gamma")(x, c), normalised)


def test_gain_and_bias_are_linear_in_the_condition_per_example():
    cbn = ConditionalBatchNorm2d(4, 6, "gamma", PLAIN)
    x, c = torch.randn(8, 4, 5, 5), torch.randn(8, 6)
    normalised = F.batch_norm(x, None, None, training=True, eps=1e-5)
    gain = (c @ cbn.gamma.weight.T)[:, :, None, None]
    bias = (c @ cbn.beta.weight.T)[:, :, None, None]
    torch.testing.assert_close(cbn(x, c), normalised * gain + bias)
    assert cbn.gamma.bias is None and cbn.beta.bias is None
    assert list(cbn.norm.parameters()) == []


def test_unknown_gain_is_named():
    with pytest.raises(ValueError, match="model.cbnGain"):
        ConditionalBatchNorm2d(4, 6, "beta", PLAIN)
