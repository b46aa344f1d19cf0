"""F, the pre-activation ResNet: layout, parameter counts, stems and heads."""

import pytest
import torch
import torchvision
from torch import nn

from s3gan.nn.resnet_v2 import ResNetV2
from s3gan.spec.model import ExperimentSpec


def _conv_weights(module: nn.Module) -> int:
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, nn.Conv2d))


def _batchnorm_affine(module: nn.Module) -> int:
    return sum(2 * m.num_features for m in module.modules() if isinstance(m, nn.BatchNorm2d))


def test_k4_depth50_has_resnet50s_convolutions_and_v2s_batchnorms():
    with torch.device("meta"):
        f = ResNetV2(depth=50, widening=4, resolution=128)
        reference = torchvision.models.resnet50(weights=None)
    # Same convolutions as torchvision's ResNet-50 (v1.5: stride on the 3×3 too): 7×7 stem,
    # 16 bottlenecks, 4 projection shortcuts.
    assert _conv_weights(f) == _conv_weights(reference) == 23_454_912
    # BatchNorm differs by design: v2 normalises each unit's input (bn1 over in_channels), has
    # no BN after the stem or on projections, and adds one final BN before pooling.
    assert _batchnorm_affine(reference) == 53_120
    assert _batchnorm_affine(f) == 45_440
    reference_trunk = sum(p.numel() for p in reference.parameters()) - 2048 * 1000 - 1000
    assert reference_trunk - f.trunk_parameters() == 53_120 - 45_440
    assert f.trunk_parameters() == 23_500_352
    assert f.feature_dim == 2048


@pytest.mark.parametrize(
    ("depth", "widening", "resolution", "trunk", "features"),
    [
        (50, 16, 128, 375_347_456, 8192),  # the paper's F: ≈16× ResNet-50
        (101, 4, 128, 42_492_480, 2048),
        (26, 1, 32, 875_344, 512),
        (26, 2, 32, 3_488_928, 1024),
    ],
)
def test_pinned_parameter_counts(depth, widening, resolution, trunk, features):
    with torch.device("meta"):  # counts need no storage
        f = ResNetV2(depth, widening, resolution)
    assert f.trunk_parameters() == trunk
    assert f.feature_dim == features


def test_small_inputs_keep_a_4x4_map_at_the_last_stage():
    f = ResNetV2(26, 1, resolution=32, num_classes=10).eval()
    x = torch.randn(2, 3, 32, 32)
    assert f.units(f.stem(x)).shape == (2, 512, 4, 4)
    assert f(x).shape == (2, 512)
    assert f.rotation_head(f(x)).shape == (2, 4)
    assert f.class_head(f(x)).shape == (2, 10)


def test_imagenet_stem_reaches_4x4_from_128():
    f = ResNetV2(26, 1, resolution=128).eval()
    assert f.units(f.stem(torch.randn(1, 3, 128, 128))).shape == (1, 512, 4, 4)
    assert f.class_head is None


def test_features_are_nonnegative_pooled_activations_and_train():
    f = ResNetV2(26, 1, resolution=32, num_classes=3)
    x = torch.randn(4, 3, 32, 32)
    h = f(x)
    assert (h >= 0).all()  # final BN-ReLU before the average
    loss = f.class_head(h).logsumexp(1).mean()
    loss.backward()
    assert all(p.grad is not None for p in f.stem.parameters())


def test_from_spec_reads_depth_widening_and_resolution():
    spec = ExperimentSpec.model_validate(
        {"dataset": {"uri": "x", "resolution": 32, "numClasses": 10},
         "pretraining": {"depth": 26, "widening": 2}}
    )
    f = ResNetV2.from_spec(spec, num_classes=10)
    assert f.feature_dim == 1024 and f.class_head.out_features == 10
    assert isinstance(f.stem[0], nn.Conv2d) and f.stem[0].kernel_size == (3, 3)


@pytest.mark.parametrize(("depth", "widening"), [(34, 1), (50, 0)])
def test_rejects_unknown_depth_and_bad_widening(depth, widening):
    with pytest.raises(ValueError, match="pretraining"):
        ResNetV2(depth, widening, resolution=32)
