"""DiffAugment: each transform's statistics match its definition; gradients reach G."""

from __future__ import annotations

import pytest
import torch

from s3gan.augment import (
    POLICIES,
    brightness,
    contrast,
    cutout,
    diff_augment,
    saturation,
    translation,
)
from s3gan.nn.biggan import Generator
from s3gan.nn.ranges import to_unit_range

N = 512


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def images(n: int = N, size: int = 4) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=seeded(99)) * 2 - 1


def per_image_factor(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """The s with after = s · before for each image (least squares), checked to be exact."""
    before, after = before.flatten(1), after.flatten(1)
    factor = (before * after).sum(1) / before.square().sum(1)
    torch.testing.assert_close(after, factor[:, None] * before, rtol=1e-4, atol=1e-5)
    return factor


def test_empty_policy_is_the_identity():
    x = torch.randn(2, 3, 8, 8)
    assert diff_augment(x, (), seeded()) is x


def test_unknown_policies_are_named():
    with pytest.raises(ValueError, match=r"training.diffAugment.*'flip'"):
        diff_augment(torch.zeros(1, 3, 8, 8), ("color", "flip"))


def test_brightness_shifts_each_image_by_a_uniform_draw_in_half_a_unit():
    x = images()
    shift = (brightness(x, seeded()) - x).flatten(1)
    torch.testing.assert_close(shift, shift[:, :1].expand_as(shift))  # one draw per image
    draws = shift[:, 0]
    assert draws.abs().max() <= 0.5 and draws.abs().max() > 0.49
    assert abs(draws.mean().item()) < 0.05 and abs(draws.var().item() - 1 / 12) < 0.01


def test_saturation_scales_the_distance_to_grey_by_a_factor_in_0_2():
    x = images()
    grey = x.mean(dim=1, keepdim=True)
    out = saturation(x, seeded())
    torch.testing.assert_close(out.mean(dim=1, keepdim=True), grey)
    factors = per_image_factor(x - grey, out - grey)
    assert factors.min() >= 0 and factors.max() <= 2
    assert factors.min() < 0.05 and factors.max() > 1.95
    assert abs(factors.mean().item() - 1.0) < 0.1


def test_contrast_scales_the_distance_to_the_image_mean_by_0_5_to_1_5():
    x = images()
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    out = contrast(x, seeded())
    factors = per_image_factor(x - mean, out - mean)
    assert factors.min() >= 0.5 and factors.max() <= 1.5
    assert factors.min() < 0.55 and factors.max() > 1.45


def shifted(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    out = torch.zeros_like(image)
    h, w = image.shape[-2:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[:, max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def test_translation_shifts_by_at_most_an_eighth_and_fills_zeros():
    n, size = 64, 32
    x = torch.arange(1.0, 1.0 + 3 * size * size).view(1, 3, size, size).repeat(n, 1, 1, 1)
    out = translation(x, seeded())
    shifts = []
    for image, result in zip(x, out, strict=True):
        found = [(dy, dx) for dy in range(-4, 5) for dx in range(-4, 5)
                 if torch.equal(shifted(image, dy, dx), result)]
        assert len(found) == 1
        shifts.append(found[0])
    assert {dy for dy, _ in shifts} == set(range(-4, 5))
    assert {dx for _, dx in shifts} == set(range(-4, 5))


def test_cutout_zeroes_a_half_size_square_clipped_at_the_border():
    size = 32
    out = cutout(torch.ones(N, 3, size, size), seeded())
    assert ((out == 0) | (out == 1)).all()
    assert torch.equal(out[:, :1].expand_as(out), out)  # the same square in every channel
    areas = []
    for image in out[:, 0]:
        rows = (image == 0).any(dim=1).nonzero().flatten()
        cols = (image == 0).any(dim=0).nonzero().flatten()
        height, width = len(rows), len(cols)
        assert (image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] == 0).all()
        assert (image == 0).sum() == height * width  # exactly one rectangle
        for span, first, last in ((height, rows[0], rows[-1]), (width, cols[0], cols[-1])):
            assert span <= size // 2
            if 0 < first and last < size - 1:
                assert span == size // 2  # only the border clips it
        areas.append(height * width)
    assert max(areas) == (size // 2) ** 2 and min(areas) < (size // 2) ** 2


def test_the_generator_makes_it_deterministic():
    x = images(8, 16)
    a = diff_augment(x, POLICIES, seeded(1))
    torch.testing.assert_close(diff_augment(x, POLICIES, seeded(1)), a)
    assert not torch.allclose(diff_augment(x, POLICIES, seeded(2)), a)


def test_gradients_reach_the_generator_through_every_policy():
    generator = Generator(32, 8, 10, init="normal")
    images = to_unit_range(generator(torch.randn(4, 120), torch.arange(4)), "zero-one")
    diff_augment(images, POLICIES, seeded()).square().mean().backward()
    weight = generator.output[2].parametrizations.weight.original
    assert weight.grad is not None and weight.grad.abs().sum() > 0
    assert generator.dense.parametrizations.weight.original.grad.abs().sum() > 0
