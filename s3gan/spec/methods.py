"""The nine methods of the paper's Table 1 plus the (SS) variants, and what each one needs.

This table is the only place the spec knows method traits; ``s3gan.methods`` composes the
label and head strategies from the same names.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal


class Method(enum.StrEnum):
    BIGGAN = "biggan"
    SINGLE_LABEL = "single-label"
    SINGLE_LABEL_SS = "single-label-ss"
    RANDOM_LABEL = "random-label"
    CLUSTERING = "clustering"
    CLUSTERING_SS = "clustering-ss"
    BIGGAN_K = "biggan-k"
    S2GAN = "s2gan"
    S2GAN_CO = "s2gan-co"
    S3GAN = "s3gan"
    S3GAN_CO = "s3gan-co"


Pretraining = Literal["rotation", "s2l"]


@dataclass(frozen=True)
class MethodTraits:
    """What a method needs from the pipeline (paper section 3, Table 1)."""

    uses_labelled_subset: bool  # reads the stored k% mask
    pretraining: Pretraining | None  # which loss F is pretrained with: eq. 1 or eq. 2
    rotation_self_supervision: bool  # eqs. 4 and 5 in D and G
    co_training: bool  # eq. 3's c_CT head
    default_beta: float  # eq. 4 weight; paper section 4: 0.5 for S³GAN, 1.0 for S³GAN-CO
    default_pseudo_labels: Literal["hard", "soft"]  # Table 5: hard for S²GAN; -CO used soft


TRAITS: dict[Method, MethodTraits] = {
    Method.BIGGAN: MethodTraits(False, None, False, False, 0.5, "hard"),
    Method.SINGLE_LABEL: MethodTraits(False, None, False, False, 0.5, "hard"),
    Method.SINGLE_LABEL_SS: MethodTraits(False, None, True, False, 0.5, "hard"),
    Method.RANDOM_LABEL: MethodTraits(False, None, False, False, 0.5, "hard"),
    Method.CLUSTERING: MethodTraits(False, "rotation", False, False, 0.5, "hard"),
    Method.CLUSTERING_SS: MethodTraits(False, "rotation", True, False, 0.5, "hard"),
    Method.BIGGAN_K: MethodTraits(True, None, False, False, 0.5, "hard"),
    Method.S2GAN: MethodTraits(True, "s2l", False, False, 0.5, "hard"),
    Method.S2GAN_CO: MethodTraits(True, None, False, True, 0.5, "soft"),
    Method.S3GAN: MethodTraits(True, "s2l", True, False, 0.5, "hard"),
    Method.S3GAN_CO: MethodTraits(True, None, True, True, 1.0, "soft"),
}
