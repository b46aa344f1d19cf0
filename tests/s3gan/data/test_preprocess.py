"""Stored encodings: each payload decodes to the pixels Pillow's Image.open gives."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from s3gan.data.preprocess import centre_crop_resize, decode, encode


@pytest.fixture(scope="module")
def garments(fashion_arrays):
    (images, _), _ = fashion_arrays
    return images[:20]


@pytest.mark.parametrize("encoding", ["raw", "png", "jpeg"])
@pytest.mark.parametrize(("resolution", "channels"), [(32, 3), (32, 1), (128, 3)])
def test_decode_gives_the_pixels_image_open_gives(garments, encoding, resolution, channels):
    for garment in garments:
        array = centre_crop_resize(Image.fromarray(garment), resolution, channels)
        payload = encode(array, encoding)
        got = decode(payload, encoding, resolution, channels)
        assert got.shape == (resolution, resolution, channels) and got.dtype == np.uint8
        if encoding == "jpeg":
            with Image.open(io.BytesIO(payload)) as image:
                want = np.asarray(image).reshape(got.shape)
        else:  # lossless
            want = array
        assert np.array_equal(got, want)


def test_a_jpeg_of_another_size_is_refused(garments):
    payload = encode(centre_crop_resize(Image.fromarray(garments[0]), 32, 3), "jpeg")
    for resolution in (16, 64):
        with pytest.raises(ValueError, match=f"not a {resolution} px RGB JPEG"):
            decode(payload, "jpeg", resolution, 3)
    with pytest.raises(ValueError, match="not a 32 px RGB JPEG"):
        decode(payload[: len(payload) // 2], "jpeg", 32, 3)
