"""Pretraining of the feature extractor F (eqs. 1 and 2) and the labels inferred from it."""

from s3gan.pretrain.label_inference import (
    cluster_purity,
    infer_cluster_labels,
    infer_s2l_labels,
    label_accuracy,
    matched_accuracy,
)
from s3gan.pretrain.linear_probe import LinearProbe, fit_linear_probe
from s3gan.pretrain.loop import StepRecord, pretrain

__all__ = [
    "LinearProbe",
    "StepRecord",
    "cluster_purity",
    "fit_linear_probe",
    "infer_cluster_labels",
    "infer_s2l_labels",
    "label_accuracy",
    "matched_accuracy",
    "pretrain",
]
