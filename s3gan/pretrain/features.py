"""F(x) for many images, chunk by chunk, in inference mode (BatchNorm's running statistics)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import torch

from s3gan.nn.ranges import from_uint8
from s3gan.nn.resnet_v2 import ResNetV2

# A split's uint8 images [n_i, 3, H, W] in stable-index order, chunk by chunk; called once per
# pass, so a split too large for memory can be read again (k-means fits, then assigns).
ImageChunks = Callable[[], Iterable[torch.Tensor]]


def to_network_input(images: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """uint8 images → float in [-1, 1] on ``device``, as F is trained on them."""
    return from_uint8(images.to(device), "minus-one-one")


def in_chunks(images: torch.Tensor, size: int = 1024) -> ImageChunks:
    """An in-memory uint8 [N, 3, H, W] tensor as ``ImageChunks``."""
    return lambda: images.split(size)


@torch.no_grad()
def feature_chunks(
    f: ResNetV2, images: ImageChunks, device: torch.device | str, batch_size: int = 512
) -> Iterator[torch.Tensor]:
    """F(x) [n_i, d] for each chunk of ``images``, on ``device``."""
    was_training = f.training
    f.eval()
    try:
        for chunk in images():
            yield torch.cat([f.features(to_network_input(b, device))
                             for b in chunk.split(batch_size)])
    finally:
        f.train(was_training)


def extract_features(
    f: ResNetV2, images: ImageChunks, device: torch.device | str, batch_size: int = 512
) -> torch.Tensor:
    """F(x) [N, d] of every image, on the CPU."""
    return torch.cat([c.cpu() for c in feature_chunks(f, images, device, batch_size)])
