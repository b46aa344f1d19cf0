"""BigGAN's residual blocks (paper appendix B, Tables 7 and 9; compare_gan's
``BigGanResNetBlock``).

G's ResBlock-up: main path cBN-ReLU-upsample-conv3×3-cBN-ReLU-conv3×3, shortcut
upsample-conv1×1, summed. D's ResBlock-down: ReLU-conv3×3-ReLU-conv3×3-avgpool2×2, with a
conv1×1 (and avgpool) shortcut only where the channel count changes — so D's last block,
which neither resamples nor widens, is a plain two-conv block, as in compare_gan. D's
first block applies the ReLU to the image itself when G's outputs are in [0, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from s3gan.nn.conditional_bn import CbnGain, ConditionalBatchNorm2d
from s3gan.nn.layers import Layers
from s3gan.nn.upsampling import Upsampling, check_upsampling, upsample


class GeneratorBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, condition_dim: int,
                 upsampling: Upsampling, cbn_gain: CbnGain, layers: Layers):
        super().__init__()
        check_upsampling(upsampling)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.upsampling = upsampling
        self.bn1 = ConditionalBatchNorm2d(in_channels, condition_dim, cbn_gain, layers)
        self.conv1 = layers.conv(in_channels, out_channels, 3)
        self.bn2 = ConditionalBatchNorm2d(out_channels, condition_dim, cbn_gain, layers)
        self.conv2 = layers.conv(out_channels, out_channels, 3)
        self.shortcut = layers.conv(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(x, condition))
        h = self.conv1(upsample(h, self.upsampling))
        h = self.conv2(F.relu(self.bn2(h, condition)))
        return h + self.shortcut(upsample(x, self.upsampling))


class DiscriminatorBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, downsample: bool,
                 input_relu: bool, layers: Layers):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.downsample, self.input_relu = downsample, input_relu
        self.conv1 = layers.conv(in_channels, out_channels, 3)
        self.conv2 = layers.conv(out_channels, out_channels, 3)
        self.shortcut = (layers.conv(in_channels, out_channels, 1)
                         if in_channels != out_channels else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(x) if self.input_relu else x
        h = self.conv2(F.relu(self.conv1(h)))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        if self.shortcut is None:
            return h
        # Pooling before the 1×1 conv equals pooling after it (both are linear) and is cheaper.
        return h + self.shortcut(F.avg_pool2d(x, 2) if self.downsample else x)
