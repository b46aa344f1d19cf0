"""BigGAN's generator and discriminator (Brock et al. 2019) as the S³GAN paper used them
(appendix B, Tables 6–11), following the authors' compare_gan ``resnet_biggan.py``.

G: z → hierarchical split (one chunk for the dense layer, one per ResBlock) → dense →
4×4×16ch → ResBlocks-up conditioned on [z chunk, shared class embedding] → non-local block
→ BN, ReLU, conv3×3 → tanh, mapped to [0, 1] or kept in [-1, 1].
D: ResBlocks-down with a non-local block → ReLU → global SUM pooling = D~(x) → heads.
At 128×128, ch = 96 and 1000 classes G has 70,433,988 and D 87,982,370 trainable
parameters, exactly compare_gan's counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from s3gan.nn.attention import NonLocalBlock
from s3gan.nn.blocks import DiscriminatorBlock, GeneratorBlock
from s3gan.nn.conditional_bn import BATCH_NORM_EPS, CbnGain
from s3gan.nn.heads import NUM_ROTATIONS, HeadSet, Projection
from s3gan.nn.layers import Init, Layers
from s3gan.nn.ranges import OutputRange, check_output_range
from s3gan.nn.upsampling import Upsampling

if TYPE_CHECKING:
    from s3gan.spec.model import ExperimentSpec

SEED_SIZE = 4  # G's dense layer outputs a 4×4 map


@dataclass(frozen=True)
class ArchitectureTable:
    """Channel multipliers of ch, per resolution (compare_gan's ``_get_in_out_channels``)."""

    generator: tuple[int, ...]  # the dense layer's output, then each G block's output
    generator_attention: int  # the G block (1-based) followed by the non-local block
    discriminator: tuple[int, ...]  # each D block's output; the last does not downsample
    discriminator_attention: int  # the D block (1-based) followed by the non-local block


# Attention: compare_gan's settings at 128 (G after B4, D after B1: both at 64×64) and 256;
# at 32 and 64 (where it sets none) ours: at half the image size, as at 128.
TABLES = {
    32: ArchitectureTable((4, 4, 4, 4), 2, (2, 2, 2, 2), 1),
    64: ArchitectureTable((16, 16, 8, 4, 2), 3, (2, 4, 8, 16, 16), 1),
    128: ArchitectureTable((16, 16, 8, 4, 2, 1), 4, (1, 2, 4, 8, 16, 16), 1),
    256: ArchitectureTable((16, 16, 8, 8, 4, 2, 1), 5, (1, 2, 4, 8, 8, 16, 16), 2),
}


def table_for(resolution: int) -> ArchitectureTable:
    if resolution not in TABLES:
        raise ValueError(f"dataset.resolution must be one of {sorted(TABLES)}, got {resolution}")
    return TABLES[resolution]


class Generator(nn.Module):
    def __init__(self, resolution: int, ch: int, num_classes: int, z_dim: int = 120,
                 shared_dim: int = 128, hierarchical_z: bool = True, attention: bool = True,
                 cbn_gain: CbnGain = "gamma", upsampling: Upsampling = "zero-insertion",
                 output_range: OutputRange = "zero-one", spectral_norm: bool = True,
                 init: Init = "orthogonal"):
        super().__init__()
        check_output_range(output_range)
        table = table_for(resolution)
        channels = [ch * m for m in table.generator]
        num_blocks = len(channels) - 1
        self.resolution, self.z_dim, self.output_range = resolution, z_dim, output_range
        self.hierarchical_z = hierarchical_z
        if hierarchical_z:
            if z_dim % (num_blocks + 1):
                raise ValueError(f"model.zDim = {z_dim} must split into {num_blocks + 1} equal "
                                 f"chunks for hierarchical z at {resolution}×{resolution}")
            self.z_chunk = z_dim // (num_blocks + 1)
            dense_in, condition_dim = self.z_chunk, shared_dim + self.z_chunk
        else:
            dense_in, condition_dim = z_dim, shared_dim
        layers = Layers(init, spectral_norm)
        # compare_gan's embed_y: initialised like every kernel, never spectrally normalised.
        self.shared = nn.Embedding(num_classes, shared_dim)
        layers.initialise(self.shared.weight)
        self.dense = layers.linear(dense_in, channels[0] * SEED_SIZE**2)
        self.blocks = nn.ModuleList(
            GeneratorBlock(c_in, c_out, condition_dim, upsampling, cbn_gain, layers)
            for c_in, c_out in zip(channels[:-1], channels[1:], strict=True))
        self.attention_after = table.generator_attention if attention else None
        self.attention = (NonLocalBlock(channels[table.generator_attention], layers)
                          if attention else None)
        self.output = nn.Sequential(nn.BatchNorm2d(channels[-1], eps=BATCH_NORM_EPS), nn.ReLU(),
                                    layers.conv(channels[-1], 3, 3))

    @classmethod
    def from_spec(cls, spec: ExperimentSpec, num_classes: int) -> Generator:
        m = spec.model
        return cls(spec.dataset.resolution, m.ch, num_classes, z_dim=m.z_dim,
                   shared_dim=m.shared_embedding_dim, hierarchical_z=m.hierarchical_z,
                   attention=m.attention, cbn_gain=m.cbn_gain, upsampling=m.upsampling,
                   output_range=m.output_range, spectral_norm=m.spectral_norm, init=m.init)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """z [N, z_dim], y int64 [N] → images [N, 3, R, R] in G's output range."""
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must be [N, {self.z_dim}], got {list(z.shape)}")
        if y.shape != (z.shape[0],) or y.is_floating_point():
            raise ValueError(f"y must be int64 class indices [{z.shape[0]}], "
                             f"got {y.dtype} {list(y.shape)}")
        shared = self.shared(y)
        if self.hierarchical_z:
            z0, *chunks = z.split(self.z_chunk, dim=1)
            conditions = [torch.cat([chunk, shared], dim=1) for chunk in chunks]
        else:
            z0, conditions = z, [shared] * len(self.blocks)
        h = self.dense(z0).view(z.shape[0], -1, SEED_SIZE, SEED_SIZE)
        for index, block in enumerate(self.blocks, start=1):
            h = block(h, conditions[index - 1])
            if index == self.attention_after:
                h = self.attention(h)
        h = torch.tanh(self.output(h))
        return (h + 1.0) / 2.0 if self.output_range == "zero-one" else h

    def parts(self) -> list[tuple[str, nn.Module]]:
        """(label, module) in forward order, for parameter summaries."""
        size = SEED_SIZE
        parts: list[tuple[str, nn.Module]] = [
            (f"shared embedding {self.shared.num_embeddings}×{self.shared.embedding_dim}",
             self.shared),
            (f"dense → {SEED_SIZE}×{SEED_SIZE}×{self.blocks[0].in_channels}", self.dense)]
        for index, block in enumerate(self.blocks, start=1):
            size *= 2
            parts.append((f"block {index}: {block.in_channels}→{block.out_channels}, "
                          f"{size}×{size}", block))
            if index == self.attention_after:
                parts.append((f"non-local at {size}×{size}", self.attention))
        parts.append(("output: BN, ReLU, conv3×3 → 3", self.output))
        return parts


class Discriminator(nn.Module):
    def __init__(self, resolution: int, ch: int, num_classes: int, heads: HeadSet,
                 input_relu: bool = True, spectral_norm: bool = True, init: Init = "orthogonal",
                 attention: bool = True):
        super().__init__()
        table = table_for(resolution)
        out_channels = [ch * m for m in table.discriminator]
        in_channels = [3, *out_channels[:-1]]
        last = len(out_channels) - 1
        self.resolution, self.num_classes, self.heads = resolution, num_classes, heads
        layers = Layers(init, spectral_norm)
        self.blocks = nn.ModuleList(
            DiscriminatorBlock(c_in, c_out, downsample=index < last,
                               input_relu=input_relu or index > 0, layers=layers)
            for index, (c_in, c_out) in enumerate(zip(in_channels, out_channels, strict=True)))
        self.attention_after = table.discriminator_attention if attention else None
        self.attention = (NonLocalBlock(out_channels[table.discriminator_attention - 1], layers)
                          if attention else None)
        self.feature_dim = out_channels[-1]
        self.real_fake = layers.linear(self.feature_dim, 1)
        self.projection = (Projection(num_classes, self.feature_dim, layers)
                           if heads.projection else None)
        self.rotation_head = (layers.linear(self.feature_dim, NUM_ROTATIONS)
                              if heads.rotation else None)
        self.class_head = (layers.linear(self.feature_dim, num_classes)
                           if heads.classifier else None)

    @classmethod
    def from_spec(cls, spec: ExperimentSpec, num_classes: int, heads: HeadSet) -> Discriminator:
        m = spec.model
        return cls(spec.dataset.resolution, m.ch, num_classes, heads,
                   input_relu=m.output_range == "zero-one", spectral_norm=m.spectral_norm,
                   init=m.init, attention=m.attention)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """D~(x): images [N, 3, R, R] → h [N, feature_dim] (ReLU, then global sum pooling)."""
        if x.dim() != 4 or x.shape[1:] != (3, self.resolution, self.resolution):
            raise ValueError(f"D expects images [N, 3, {self.resolution}, {self.resolution}], "
                             f"got {list(x.shape)}")
        h = x
        for index, block in enumerate(self.blocks, start=1):
            h = block(h)
            if index == self.attention_after:
                h = self.attention(h)
        return F.relu(h).sum(dim=(2, 3))

    def adversarial(self, h: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """c_rf(h) + P(h, y) → logits [N]; y is ignored without the projection head."""
        logits = self.real_fake(h).squeeze(1)
        if self.projection is None:
            return logits
        if y is None:
            raise ValueError("this discriminator projects labels: y is required")
        return logits + self.projection(h, y)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.adversarial(self.features(x), y)

    def parts(self) -> list[tuple[str, nn.Module]]:
        """(label, module) in forward order, for parameter summaries."""
        parts: list[tuple[str, nn.Module]] = []
        size = self.resolution
        for index, block in enumerate(self.blocks, start=1):
            size //= 2 if block.downsample else 1
            shortcut = "" if block.shortcut is not None else ", no shortcut"
            parts.append((f"block {index}: {block.in_channels}→{block.out_channels}, "
                          f"{size}×{size}{shortcut}", block))
            if index == self.attention_after:
                parts.append((f"non-local at {size}×{size}", self.attention))
        parts.append((f"real/fake c_rf {self.feature_dim}→1", self.real_fake))
        heads = [("projection P", self.projection), ("rotation c_R", self.rotation_head),
                 ("classifier c_CT", self.class_head)]
        parts.extend((label, head) for label, head in heads if head is not None)
        return parts
