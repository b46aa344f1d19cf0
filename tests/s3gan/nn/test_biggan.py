"""BigGAN G and D: compare_gan's exact parameter counts, layout and the model switches."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from s3gan.nn.biggan import TABLES, Discriminator, Generator
from s3gan.nn.heads import HeadSet
from s3gan.spec import parse_experiment

S3GAN_HEADS = HeadSet(projection=True, rotation=True, classifier=True)


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@pytest.fixture(scope="module")
def paper_models() -> tuple[Generator, Discriminator]:
    # Trainable counts depend on neither the initialisation nor spectral norm (its vectors
    # are buffers, see the 32×32 test): leaving both out keeps the build quick.
    generator = Generator(128, 96, 1000, init="normal", spectral_norm=False)
    discriminator = Discriminator(128, 96, 1000, S3GAN_HEADS, init="normal",
                                  spectral_norm=False)
    return generator, discriminator


def test_paper_parameter_counts(paper_models):
    generator, discriminator = paper_models
    assert count(generator) == 70_433_988
    heads = (discriminator.rotation_head, discriminator.class_head)
    assert count(discriminator) - sum(count(h) for h in heads) == 87_982_370
    assert count(discriminator) == 89_525_518
    assert count(discriminator.rotation_head) == 1536 * 4 + 4
    assert count(discriminator.class_head) == 1536 * 1000 + 1000


def test_paper_layout(paper_models):
    generator, discriminator = paper_models
    shapes = {name: tuple(p.shape) for name, p in generator.named_parameters()}
    assert shapes["shared.weight"] == (1000, 128)
    assert shapes["dense.weight"] == (24576, 20)
    cbn = {n: s for n, s in shapes.items() if ".bn" in n}
    assert len(cbn) == 5 * 2 * 2  # 5 blocks × 2 cBNs × (γ, β)
    assert all(s[1] == 148 for s in cbn.values())
    assert shapes["blocks.0.bn1.gamma.weight"] == (1536, 148)
    for network in paper_models:
        names = [n for n, _ in network.named_parameters()]
        assert not [n for n in names if (".bn" in n or "attention." in n) and "bias" in n]
    assert [b.shortcut is None for b in discriminator.blocks] == [False] * 5 + [True]
    assert discriminator.feature_dim == 1536
    assert tuple(discriminator.projection.embedding.weight.shape) == (1000, 1536)
    assert generator.attention.theta.in_channels == 192  # after block 4, at 64×64
    assert discriminator.attention.theta.in_channels == 96  # after block 1, at 64×64


def test_spectral_norm_on_every_layer_but_the_shared_embedding():
    generator = Generator(32, 8, 10, init="normal")
    discriminator = Discriminator(32, 8, 10, S3GAN_HEADS, init="normal")
    for network in (generator, discriminator):
        for name, module in network.named_modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                assert parametrize.is_parametrized(module, "weight"), name
    assert not parametrize.is_parametrized(generator.shared)
    assert parametrize.is_parametrized(discriminator.projection.embedding, "weight")
    unnormalised = Generator(32, 8, 10, init="normal", spectral_norm=False)
    assert not any(parametrize.is_parametrized(m) for m in unnormalised.modules())


def is_orthogonal(weight: torch.Tensor) -> bool:
    w = weight.detach().flatten(1)
    gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    return torch.allclose(gram, torch.eye(gram.shape[0]), atol=1e-4)


def test_initialisation_follows_compare_gan():
    generator = Generator(32, 8, 10)
    discriminator = Discriminator(32, 8, 10, S3GAN_HEADS)
    for network in (generator, discriminator):
        for name, p in network.named_parameters():
            if name.startswith("projection."):
                continue
            if name.endswith("weight.original") or name == "shared.weight":
                assert is_orthogonal(p), name
            elif name.endswith("bias") and not name.startswith("output.0"):
                assert (p == 0).all(), name
    projection = discriminator.projection.embedding.parametrizations.weight.original
    assert not is_orthogonal(projection)  # Glorot normal: std √(2 / (fan_in + fan_out))
    assert abs(projection.std().item() - (2 / (10 + 16)) ** 0.5) < 0.05
    assert generator.attention.sigma.item() == discriminator.attention.sigma.item() == 0.0
    final_bn = generator.output[0]
    assert (final_bn.weight == 1).all() and (final_bn.bias == 0).all()


def test_small_table_counts_per_part():
    generator = Generator(32, 64, 10, init="normal")  # spectrally normalised
    discriminator = Discriminator(32, 64, 10, S3GAN_HEADS, init="normal")
    assert [count(m) for _, m in generator.parts()] == [
        1_280, 126_976, 1_407_744, 1_407_744, 81_921, 1_407_744, 7_427]
    assert count(generator) == 4_440_836
    assert [count(m) for _, m in discriminator.parts()] == [
        151_680, 20_481, 295_168, 295_168, 295_168, 129, 1_280, 516, 1_290]
    assert [b.shortcut is None for b in discriminator.blocks] == [False, True, True, True]


@pytest.mark.parametrize("resolution", sorted(TABLES))
def test_every_table_builds_the_right_shapes(resolution):
    z_dim = 20 * (len(TABLES[resolution].generator))
    generator = Generator(resolution, 8, 5, z_dim=z_dim, init="normal")
    discriminator = Discriminator(resolution, 8, 5, HeadSet(), init="normal")
    assert len(generator.blocks) == len(TABLES[resolution].generator) - 1
    assert generator.blocks[-1].out_channels == 8 * TABLES[resolution].generator[-1]
    if resolution < 256:  # at 256 G attends at 128×128: too heavy for a unit test
        images = generator(torch.randn(1, z_dim), torch.tensor([4]))
        assert images.shape == (1, 3, resolution, resolution)
    logits = discriminator(torch.rand(1, 3, resolution, resolution), torch.tensor([2]))
    assert logits.shape == (1,)


def small(**switches) -> Generator:
    torch.manual_seed(0)
    return Generator(32, 8, 10, **{"init": "normal", **switches})


def test_output_ranges():
    z, y = torch.randn(6, 120), torch.arange(6)
    zero_one = small(output_range="zero-one")(z, y)
    minus_one_one = small(output_range="minus-one-one")(z, y)
    assert zero_one.min() >= 0 and zero_one.max() <= 1
    assert minus_one_one.min() < 0
    torch.testing.assert_close(minus_one_one, zero_one * 2 - 1)
    with pytest.raises(ValueError, match="outputRange"):
        Generator(32, 8, 10, output_range="zero-255")


def test_switches_change_the_generator():
    z, y = torch.randn(4, 120), torch.arange(4)
    base = small()(z, y)
    for switch in ({"upsampling": "nearest"}, {"cbn_gain": "one-plus-gamma"},
                   {"init": "orthogonal"}, {"attention": False}):
        assert not torch.allclose(small(**switch)(z, y), base), switch


def test_hierarchical_z_splits_into_one_chunk_per_block_plus_one():
    generator = Generator(32, 8, 10, init="normal")
    assert generator.z_chunk == 30 and generator.dense.in_features == 30
    assert generator.blocks[0].bn1.gamma.in_features == 128 + 30
    flat = Generator(32, 8, 10, hierarchical_z=False, init="normal")
    assert flat.dense.in_features == 120 and flat.blocks[0].bn1.gamma.in_features == 128
    with pytest.raises(ValueError, match="model.zDim = 90 must split into 4"):
        Generator(32, 8, 10, z_dim=90, init="normal")


def test_g_rejects_malformed_inputs():
    generator = Generator(32, 8, 10, init="normal")
    with pytest.raises(ValueError, match=r"z must be \[N, 120\]"):
        generator(torch.randn(2, 100), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match=r"y must be int64 class indices \[2\]"):
        generator(torch.randn(2, 120), torch.tensor([1, 2, 3]))


def test_only_its_chunk_reaches_the_dense_layer():
    generator = Generator(32, 8, 10, init="normal").eval()
    z = torch.randn(2, 120, requires_grad=True)
    seen = {}
    generator.dense.register_forward_hook(lambda m, args, out: seen.update(x=args[0]))
    generator(z, torch.tensor([1, 2]))
    torch.testing.assert_close(seen["x"], z[:, :30])


def test_input_relu_applies_to_the_images_only_in_the_first_block():
    x = torch.randn(3, 3, 32, 32)
    for input_relu in (True, False):
        d = Discriminator(32, 8, 10, HeadSet(), input_relu=input_relu, init="normal")
        seen: list[torch.Tensor] = []
        conv1 = d.blocks[0].conv1
        conv1.register_forward_hook(lambda m, args, out, seen=seen: seen.append(args[0]))
        d.features(x)
        torch.testing.assert_close(seen[0], F.relu(x) if input_relu else x)
        assert all(block.input_relu for block in d.blocks[1:])


def test_features_are_the_relu_sum_pool_of_the_last_block():
    d = Discriminator(32, 8, 10, HeadSet(), init="normal")
    seen = {}
    d.blocks[-1].register_forward_hook(lambda m, args, out: seen.update(out=out))
    h = d.features(torch.randn(2, 3, 32, 32))
    assert seen["out"].shape == (2, 16, 4, 4)
    torch.testing.assert_close(h, F.relu(seen["out"]).sum(dim=(2, 3)))


def test_projection_takes_hard_and_soft_labels():
    d = Discriminator(32, 8, 10, HeadSet(), init="normal").eval()  # eval: fixed SN vectors
    h = d.features(torch.rand(4, 3, 32, 32))
    y = torch.tensor([0, 3, 3, 9])
    hard = d.adversarial(h, y)
    torch.testing.assert_close(d.adversarial(h, F.one_hot(y, 10).float()), hard)
    assert not torch.allclose(d.adversarial(h, torch.tensor([1, 3, 3, 9])), hard)
    mixed = d.adversarial(h, torch.full((4, 10), 0.1))
    expected = d.real_fake(h).squeeze(1) + 0.1 * h @ d.projection.embedding.weight.sum(0)
    torch.testing.assert_close(mixed, expected, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="soft labels must be"):
        d.adversarial(h, torch.ones(4, 3))


def test_single_label_head_set_ignores_labels():
    d = Discriminator(32, 8, 10, HeadSet(projection=False), init="normal").eval()
    assert d.projection is None and d.rotation_head is None and d.class_head is None
    x = torch.rand(2, 3, 32, 32)
    h = d.features(x)
    torch.testing.assert_close(d(x), d.real_fake(h).squeeze(1))
    torch.testing.assert_close(d(x, torch.tensor([0, 1])), d(x, torch.tensor([5, 7])))


def test_heads_on_the_pooled_features():
    d = Discriminator(32, 8, 10, S3GAN_HEADS, init="normal")
    h = d.features(torch.rand(5, 3, 32, 32))
    assert d.rotation_head(h).shape == (5, 4) and d.class_head(h).shape == (5, 10)


def test_d_rejects_wrong_image_sizes():
    d = Discriminator(32, 8, 10, HeadSet(), init="normal")
    with pytest.raises(ValueError, match=r"\[N, 3, 32, 32\]"):
        d.features(torch.rand(2, 3, 64, 64))


def test_from_spec_follows_the_model_section():
    spec = parse_experiment({
        "apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
        "metadata": {"name": "x"},
        "spec": {"dataset": {"uri": "/d", "resolution": 32, "numClasses": 10},
                 "model": {"ch": 8, "outputRange": "minus-one-one", "attention": False,
                           "hierarchicalZ": False, "spectralNorm": False, "init": "normal",
                           "upsampling": "nearest", "cbnGain": "one-plus-gamma"}}}).spec
    generator = Generator.from_spec(spec, 10)
    assert generator.attention is None and generator.dense.in_features == 120
    assert generator.output_range == "minus-one-one"
    assert generator.blocks[0].upsampling == "nearest"
    assert generator.blocks[0].bn1.one_plus_gamma
    assert not parametrize.is_parametrized(generator.dense)
    discriminator = Discriminator.from_spec(spec, 10, HeadSet(rotation=True))
    assert not discriminator.blocks[0].input_relu and discriminator.blocks[1].input_relu
    assert discriminator.rotation_head is not None and discriminator.attention is None


def test_gradients_reach_every_generator_parameter():
    generator = Generator(32, 8, 10, init="normal")
    discriminator = Discriminator(32, 8, 10, HeadSet(), init="normal")
    y = torch.tensor([1, 2, 3])
    discriminator(generator(torch.randn(3, 120), y), y).mean().backward()
    missing = [n for n, p in generator.named_parameters() if p.grad is None]
    # σ starts at zero, so the attention convs get no gradient on the first step.
    assert all(n.startswith("attention.") and n != "attention.sigma" for n in missing)
    assert generator.attention.sigma.grad is not None
