"""×2 upsampling: compare_gan's zero insertion and nearest neighbour."""

from __future__ import annotations

import pytest
import torch

from s3gan.nn.upsampling import check_upsampling, upsample


def test_zero_insertion_puts_values_at_even_positions_and_zeros_between():
    x = torch.arange(1.0, 1.0 + 2 * 3 * 4 * 5).view(2, 3, 4, 5)
    up = upsample(x, "zero-insertion")
    assert up.shape == (2, 3, 8, 10)
    torch.testing.assert_close(up[:, :, ::2, ::2], x)
    assert (up[:, :, 1::2, :] == 0).all() and (up[:, :, :, 1::2] == 0).all()
    assert up.sum() == x.sum()


def test_nearest_repeats_each_value_in_a_2x2_square():
    x = torch.randn(1, 2, 3, 3)
    up = upsample(x, "nearest")
    for dy in (0, 1):
        for dx in (0, 1):
            torch.testing.assert_close(up[:, :, dy::2, dx::2], x)


def test_gradients_flow_through_zero_insertion():
    x = torch.randn(1, 1, 2, 2, requires_grad=True)
    upsample(x, "zero-insertion").sum().backward()
    torch.testing.assert_close(x.grad, torch.ones_like(x))


def test_unknown_modes_are_named():
    with pytest.raises(ValueError, match="model.upsampling"):
        check_upsampling("bilinear")
