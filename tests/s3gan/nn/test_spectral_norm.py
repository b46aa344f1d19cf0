"""Our spectral norm is torch's, bit for bit, eagerly: initial vectors, power iteration in
training only, σ, gradients, and the state-dict layout of existing checkpoints."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrizations

from s3gan.nn.spectral_norm import SpectralNorm, spectral_norm

LAYERS = {
    "linear": (lambda: nn.Linear(12, 7), lambda g: torch.randn(5, 12, generator=g)),
    "conv": (lambda: nn.Conv2d(3, 6, 3, padding=1), lambda g: torch.randn(2, 3, 8, 8, generator=g)),
    "embedding": (lambda: nn.Embedding(9, 4), lambda g: torch.randint(0, 9, (6,), generator=g)),
}


def _pair(kind: str) -> tuple[nn.Module, nn.Module]:
    make, _ = LAYERS[kind]
    torch.manual_seed(11)
    ours = spectral_norm(make())
    torch.manual_seed(11)
    theirs = parametrizations.spectral_norm(make(), eps=1e-12)
    return ours, theirs


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_training_and_eval_forwards_equal_torchs_bit_for_bit(kind):
    ours, theirs = _pair(kind)
    assert isinstance(ours.parametrizations.weight[0], SpectralNorm)
    _, inputs = LAYERS[kind]
    g = torch.Generator().manual_seed(5)
    for _ in range(3):
        x = inputs(g)
        for layer in (ours, theirs):
            layer.zero_grad()
            (layer(x) ** 2).sum().backward()
        assert torch.equal(ours(x), theirs(x))
        assert torch.equal(ours.parametrizations.weight.original.grad,
                           theirs.parametrizations.weight.original.grad)
    for name, buffer in theirs.parametrizations.weight[0].named_buffers():
        assert torch.equal(getattr(ours.parametrizations.weight[0], name), buffer), name

    ours.eval()
    u = ours.parametrizations.weight[0]._u.clone()
    ours(inputs(g))
    assert torch.equal(ours.parametrizations.weight[0]._u, u)  # no power iteration in eval


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_a_state_dict_of_torchs_parametrization_loads_unchanged(kind):
    ours, theirs = _pair(kind)
    _, inputs = LAYERS[kind]
    theirs(inputs(torch.Generator().manual_seed(1)))  # move the vectors away from ours
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    assert {"parametrizations.weight.original", "parametrizations.weight.0._u",
            "parametrizations.weight.0._v"} <= ours.state_dict().keys()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    ours.eval(), theirs.eval()
    assert torch.equal(ours.weight, theirs.weight)


def test_a_module_without_a_weight_tensor_is_named():
    with pytest.raises(ValueError, match="ReLU has no tensor 'weight'"):
        spectral_norm(nn.ReLU())
