"""The non-local block: identity at initialisation (σ = 0), SAGAN's attention after."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from s3gan.nn.attention import NonLocalBlock
from s3gan.nn.layers import Layers

PLAIN = Layers(init="normal", spectral_norm=False)


def test_starts_as_the_identity():
    block = NonLocalBlock(16, Layers())
    x = torch.randn(2, 16, 8, 8)
    torch.testing.assert_close(block(x), x)
    assert block.sigma.item() == 0.0


def test_matches_the_attention_written_out():
    block = NonLocalBlock(16, PLAIN)
    with torch.no_grad():
        block.sigma.fill_(0.7)
    x = torch.randn(2, 16, 8, 8)
    theta = block.theta(x).flatten(2)  # [N, 2, 64]
    phi = F.max_pool2d(block.phi(x), 2).flatten(2)  # [N, 2, 16]
    g = F.max_pool2d(block.g(x), 2).flatten(2)  # [N, 8, 16]
    attention = torch.softmax(torch.einsum("nci,ncj->nij", theta, phi), dim=-1)
    attended = torch.einsum("nij,ncj->nci", attention, g).view(2, 8, 8, 8)
    torch.testing.assert_close(block(x), x + 0.7 * block.out(attended), rtol=1e-4, atol=1e-5)


def test_has_no_biases_and_needs_channels_divisible_by_8():
    block = NonLocalBlock(16, PLAIN)
    assert all(conv.bias is None for conv in (block.theta, block.phi, block.g, block.out))
    with pytest.raises(ValueError, match="divisible by 8"):
        NonLocalBlock(12, PLAIN)
