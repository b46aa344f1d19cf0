"""BigGAN-style preprocessing and the stored image encodings.

compare_gan (the authors' code) takes the central square of side min(H, W) and resizes it to
the target resolution. We resize with Pillow's Lanczos filter when shrinking (antialiased, no
aliasing from ImageNet's ~400 px originals down to 128) and bicubic when enlarging
(Fashion-MNIST's 28 px up to 32, where Lanczos' lobes would ring around the garment edges).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

ENCODINGS = ("raw", "png", "jpeg")
JPEG_QUALITY = 95  # visually lossless; what ImageNet pipelines re-encode with


def default_encoding(resolution: int) -> str:
    """Measured choice (docs/data.md): raw pixels up to 64 px, where they are small and decode
    ~10× faster than PNG or JPEG; JPEG from 128 px, where raw ImageNet pixels would be several
    times larger and JPEG still decodes faster than the accelerators consume."""
    return "raw" if resolution <= 64 else "jpeg"


def centre_crop_resize(image: Image.Image, resolution: int, channels: int) -> np.ndarray:
    """uint8 [resolution, resolution, channels] from any Pillow image."""
    # A grey source is resized as one channel and only then made RGB: the same pixels,
    # a third of the filtering work.
    grey = channels == 1 or image.mode == "L"
    square = image.convert("L" if grey else "RGB")
    width, height = square.size
    side = min(width, height)
    if width != height:
        left, top = (width - side) // 2, (height - side) // 2
        square = square.crop((left, top, left + side, top + side))
    if side != resolution:
        shrinking = side > resolution
        square = square.resize(
            (resolution, resolution),
            Image.Resampling.LANCZOS if shrinking else Image.Resampling.BICUBIC,
        )
    if square.mode != ("RGB" if channels == 3 else "L"):
        square = square.convert("RGB" if channels == 3 else "L")
    array = np.asarray(square, dtype=np.uint8)
    return array.reshape(resolution, resolution, channels)


def encode(array: np.ndarray, encoding: str) -> bytes:
    """The stored payload of one uint8 [H, W, C] image."""
    if encoding == "raw":
        return np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    image = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
    buffer = io.BytesIO()
    if encoding == "png":
        image.save(buffer, format="PNG", compress_level=6)
    elif encoding == "jpeg":
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
    else:
        raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
    return buffer.getvalue()


def decode(payload: bytes, encoding: str, resolution: int, channels: int) -> np.ndarray:
    """uint8 [H, W, C] back from a stored payload."""
    shape = (resolution, resolution, channels)
    if encoding == "raw":
        return np.frombuffer(payload, dtype=np.uint8).reshape(shape)
    if encoding == "jpeg":
        # The payload goes straight to Pillow's JPEG decoder, whose libjpeg-turbo reads the
        # markers itself: the same pixels as Image.open, without its Python marker parsing
        # (2.4× faster at 32 px, 1.6× at 128; docs/data.md). Size and mode are the manifest's;
        # a payload of another size is refused.
        mode = "RGB" if channels == 3 else "L"
        try:
            image = Image.frombytes(mode, shape[:2], payload, "jpeg", mode, "")
        except ValueError as error:
            raise ValueError(f"not a {resolution} px {mode} JPEG ({error})") from error
        return np.asarray(image, dtype=np.uint8).reshape(shape)
    with Image.open(io.BytesIO(payload)) as image:
        return np.asarray(image, dtype=np.uint8).reshape(shape)
