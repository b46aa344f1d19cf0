"""uint8 ↔ G's output range ↔ [-1, 1]."""

from __future__ import annotations

import pytest
import torch

from s3gan.nn.ranges import from_uint8, from_unit_range, to_uint8, to_unit_range

ALL_BYTES = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16).expand(1, 3, 16, 16)


@pytest.mark.parametrize("output_range, low, high",
                         [("zero-one", 0.0, 1.0), ("minus-one-one", -1.0, 1.0)])
def test_uint8_maps_onto_the_output_range_and_back(output_range, low, high):
    x = from_uint8(ALL_BYTES, output_range)
    assert x.dtype == torch.float32
    assert x.min().item() == low and x.max().item() == high
    assert torch.equal(to_uint8(x, output_range), ALL_BYTES)
    unit = to_unit_range(x, output_range)
    assert unit.min().item() == -1.0 and unit.max().item() == 1.0
    torch.testing.assert_close(from_unit_range(unit, output_range), x)


def test_mid_grey_is_zero_in_the_unit_range():
    grey = torch.full((1, 3, 2, 2), 0.5)
    assert (to_unit_range(grey, "zero-one") == 0).all()


def test_to_uint8_clips_and_rounds():
    x = torch.tensor([-0.2, 0.0, 0.5, 1.3])
    assert to_uint8(x, "zero-one").tolist() == [0, 0, 128, 255]


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="model.outputRange"):
        to_unit_range(torch.zeros(1), "zero-255")
    with pytest.raises(TypeError, match="uint8"):
        from_uint8(torch.zeros(1, 3, 2, 2), "zero-one")
