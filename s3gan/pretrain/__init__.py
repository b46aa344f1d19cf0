"""Pretraining of the feature extractor F (eqs. 1 and 2) and the labels inferred from it."""

from s3gan.pretrain.label_inference import (
    by_stable_index,
    cluster_purity,
    infer_labels,
    inference_precision,
    label_accuracy,
    label_quality,
    matched_accuracy,
    network_outputs,
    normalized_mutual_information,
)
from s3gan.pretrain.linear_probe import LinearProbe, fit_linear_probe
from s3gan.pretrain.loop import StepRecord, pretrain

__all__ = [
    "LinearProbe",
    "StepRecord",
    "by_stable_index",
    "cluster_purity",
    "fit_linear_probe",
    "infer_labels",
    "inference_precision",
    "label_accuracy",
    "label_quality",
    "matched_accuracy",
    "network_outputs",
    "normalized_mutual_information",
    "pretrain",
]
