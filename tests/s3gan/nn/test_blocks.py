"""G's ResBlock-up and D's ResBlock-down (compare_gan's BigGanResNetBlock)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from s3gan.nn.blocks import DiscriminatorBlock, GeneratorBlock
from s3gan.nn.layers import Layers

PLAIN = Layers(init="normal", spectral_norm=False)


def test_generator_block_doubles_the_size_and_upsamples_before_its_convs():
    block = GeneratorBlock(8, 4, 6, "zero-insertion", "gamma", PLAIN)
    seen = {}
    block.conv1.register_forward_hook(lambda m, args, out: seen.update(conv1=args[0]))
    block.shortcut.register_forward_hook(lambda m, args, out: seen.update(shortcut=args[0]))
    x = torch.randn(3, 8, 4, 4)
    out = block(x, torch.randn(3, 6))
    assert out.shape == (3, 4, 8, 8)
    for name in ("conv1", "shortcut"):
        assert seen[name].shape == (3, 8, 8, 8)
        assert (seen[name][:, :, 1::2, :] == 0).all() and (seen[name][:, :, :, 1::2] == 0).all()
    assert block.shortcut.kernel_size == (1, 1)


def test_discriminator_block_halves_the_size_and_adds_a_1x1_shortcut():
    block = DiscriminatorBlock(4, 8, downsample=True, input_relu=True, layers=PLAIN)
    x = torch.randn(2, 4, 8, 8)
    main = F.avg_pool2d(block.conv2(F.relu(block.conv1(F.relu(x)))), 2)
    expected = main + F.avg_pool2d(block.shortcut(x), 2)
    torch.testing.assert_close(block(x), expected, rtol=1e-5, atol=1e-5)


def test_discriminator_block_without_resampling_or_widening_has_no_shortcut():
    block = DiscriminatorBlock(8, 8, downsample=False, input_relu=True, layers=PLAIN)
    assert block.shortcut is None
    x = torch.randn(2, 8, 4, 4)
    torch.testing.assert_close(block(x), block.conv2(F.relu(block.conv1(F.relu(x)))))
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 2 and all(c.bias is not None for c in convs)
