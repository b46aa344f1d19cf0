"""Per-image labels for the train split from the pretrained F (paper section 3.1).

CLUSTERING: ŷ = c_CL(F(x)), k-means on F's features. S²GAN / S³GAN: ŷ = c_S2L(F(x)), the
classifier learned jointly with F by eq. 2: hard labels (argmax, the paper's default, Table 5)
or soft (softmax).

``infer_labels`` is the one implementation (``s3gan pretrain`` and the ``labels`` stage both
call it, on ``network_outputs`` streamed in stable-index order); its rows follow the stream and
``by_stable_index`` places them at the images' stable indices. How good the labels are is
measured against ground truth by
``label_accuracy`` (classifier labels name classes) and, for clusters, which name no class, by
``matched_accuracy`` (the best one-to-one cluster→class matching, Hungarian algorithm; with more
clusters than classes the unmatched clusters count as wrong) and ``cluster_purity`` (each
cluster counts as its most frequent class, many clusters may share one), and by
``normalized_mutual_information`` (I(Y; C) / mean(H(Y), H(C)), scikit-learn's default).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from scipy.optimize import linear_sum_assignment

from s3gan.kmeans import FeatureStream, cluster
from s3gan.methods.inferred_labels import InferredLabels
from s3gan.nn.resnet_v2 import ResNetV2
from s3gan.pretrain.features import ImageChunks, feature_chunks
from s3gan.spec.model import ExperimentSpec
from s3gan.train.precision import autocast, decided

INFERENCE_BATCH = 256  # images per forward of F at inference


def network_outputs(f: ResNetV2, images: ImageChunks, objective: str,
                    device: torch.device | str, precision: str = "fp32"
                    ) -> Iterator[torch.Tensor]:
    """What labels are inferred from, chunk by chunk: F(x) [n, d] for k-means (objective
    "rotation") or c_S2L's logits [n, C] (objective "s2l"), float32 on ``device``; F runs in
    ``precision`` (``pretraining.precision`` as decided for the device)."""
    if objective == "s2l" and f.class_head is None:
        raise ValueError("S²L labels need F's classifier c_S2L (F built with num_classes)")
    device = torch.device(device)
    with torch.no_grad(), autocast(precision, device):
        for chunk in feature_chunks(f, images, device, INFERENCE_BATCH):
            yield (f.class_head(chunk) if objective == "s2l" else chunk).float()


def infer_labels(outputs: FeatureStream, objective: str, num_classes: int, clusters: int,
                 seed: int, soft: bool) -> InferredLabels:
    """Labels in stream order from ``network_outputs`` streamed by ``outputs`` (re-readable):
    k-means (``s3gan.kmeans.cluster``) with ``clusters`` centres for "rotation"; c_S2L's argmax
    (hard) or softmax (``soft``) for "s2l". Both ``s3gan pretrain`` and the ``labels`` stage
    call this, so the same spec gives the same labels."""
    if objective == "rotation":
        _, assigned = cluster(outputs, clusters, seed)
        return InferredLabels(assigned, clusters)
    if soft:
        table = torch.cat([c.float().softmax(dim=1).cpu() for c in outputs()])
    else:
        table = torch.cat([c.argmax(dim=1).cpu() for c in outputs()])
    return InferredLabels(table, num_classes)


def label_quality(labels: InferredLabels, truth: torch.Tensor,
                  objective: str) -> dict[str, float]:
    """How the train split's inferred labels compare with its ground truth (never read by
    training): accuracy for c_S2L; matched accuracy, purity and NMI for clusters."""
    if objective == "s2l":
        return {"accuracy": label_accuracy(labels, truth)}
    return {"matchedAccuracy": matched_accuracy(labels.table, truth),
            "purity": cluster_purity(labels.table, truth),
            "nmi": normalized_mutual_information(labels.table, truth)}


def by_stable_index(labels: InferredLabels, index: torch.Tensor) -> InferredLabels:
    """Row i for the image of stable index i. Indices of images the conversion skipped get a
    placeholder row (class 0, or uniform probabilities) that no batch ever looks up."""
    size = int(index.max()) + 1
    if labels.soft:
        table = torch.full((size, labels.num_classes), 1.0 / labels.num_classes)
    else:
        table = torch.zeros(size, dtype=torch.int64)
    table[index] = labels.table
    return InferredLabels(table, labels.num_classes)


def label_accuracy(labels: InferredLabels, truth: torch.Tensor) -> float:
    """Share of images whose (hard) inferred class is the ground-truth class."""
    return (labels.hard().table == truth.to(labels.table.device)).float().mean().item()


def _contingency(clusters: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    if clusters.shape != truth.shape:
        raise ValueError(f"clusters {tuple(clusters.shape)} and ground truth "
                         f"{tuple(truth.shape)} must label the same images")
    classes = int(truth.max()) + 1
    pairs = clusters.long() * classes + truth.long()
    k = int(clusters.max()) + 1
    return torch.bincount(pairs, minlength=k * classes).reshape(k, classes)


def matched_accuracy(clusters: torch.Tensor, truth: torch.Tensor) -> float:
    """Accuracy under the best one-to-one matching of clusters to classes."""
    counts = _contingency(clusters, truth)
    rows, cols = linear_sum_assignment(counts.numpy(), maximize=True)
    return counts[rows, cols].sum().item() / len(truth)


def normalized_mutual_information(clusters: torch.Tensor, truth: torch.Tensor) -> float:
    """I(Y; C) / ((H(Y) + H(C)) / 2) of the cluster and class labels of the same images."""
    joint = _contingency(clusters, truth).double()
    joint = joint[joint.sum(dim=1) > 0] / joint.sum()
    p_cluster, p_class = joint.sum(dim=1), joint.sum(dim=0)
    seen = joint > 0
    outer = p_cluster[:, None] * p_class[None, :]
    mutual = (joint[seen] * (joint[seen] / outer[seen]).log()).sum().item()

    def entropy(p: torch.Tensor) -> float:
        p = p[p > 0]
        return -(p * p.log()).sum().item()

    mean_entropy = (entropy(p_cluster) + entropy(p_class)) / 2
    return 1.0 if mean_entropy == 0 else mutual / mean_entropy


def cluster_purity(clusters: torch.Tensor, truth: torch.Tensor) -> float:
    """Accuracy when every cluster is read as its own most frequent class."""
    return _contingency(clusters, truth).amax(dim=1).sum().item() / len(truth)


def inference_precision(spec: ExperimentSpec, device: torch.device | str) -> str:
    """F's precision for ``spec`` on ``device``: the labels stage and ``s3gan pretrain`` infer
    with the one F was trained in, so the same spec gives the same labels."""
    device = torch.device(device)
    return decided(spec.pretraining.precision, spec.resources.accelerator.kind, device)
