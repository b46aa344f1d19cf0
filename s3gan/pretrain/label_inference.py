"""Per-image labels for the train split from the pretrained F (paper section 3.1).

CLUSTERING: ŷ = c_CL(F(x)), k-means on F's features (``infer_cluster_labels``).
S²GAN / S³GAN: ŷ = c_S2L(F(x)), the classifier learned jointly with F by eq. 2
(``infer_s2l_labels``): hard labels (argmax, the paper's default, Table 5) or soft (softmax).

Both return ``InferredLabels`` rows in the order of the images, i.e. by stable index when the
chunks come in index order. How good the labels are is measured against ground truth by
``label_accuracy`` (classifier labels name classes) and, for clusters, which name no class, by
``matched_accuracy`` (the best one-to-one cluster→class matching, Hungarian algorithm; with more
clusters than classes the unmatched clusters count as wrong) and ``cluster_purity`` (each
cluster counts as its most frequent class, many clusters may share one).
"""

from __future__ import annotations

import itertools

import torch
from scipy.optimize import linear_sum_assignment

from s3gan.kmeans import MiniBatchKMeans
from s3gan.methods.inferred_labels import InferredLabels
from s3gan.nn.resnet_v2 import ResNetV2
from s3gan.pretrain.features import ImageChunks, feature_chunks


def infer_cluster_labels(
    f: ResNetV2,
    images: ImageChunks,
    kmeans: MiniBatchKMeans,
    device: torch.device | str,
    passes: int = 1,
) -> InferredLabels:
    """Fits ``kmeans`` on F's features over ``passes`` reads of ``images``, then labels each
    image with its cluster (int64 [N], ``num_classes`` = k)."""
    if passes < 1:
        raise ValueError(f"k-means passes must be positive, got {passes}")
    kmeans.fit(itertools.chain.from_iterable(
        feature_chunks(f, images, device) for _ in range(passes)))
    clusters = torch.cat([kmeans.assign(c).cpu() for c in feature_chunks(f, images, device)])
    return InferredLabels(clusters, kmeans.k)


@torch.no_grad()
def infer_s2l_labels(
    f: ResNetV2, images: ImageChunks, soft: bool, device: torch.device | str
) -> InferredLabels:
    """c_S2L's prediction for every image: argmax int64 [N] or softmax float [N, C]."""
    if f.class_head is None:
        raise ValueError("S²L labels need F's classifier c_S2L (F built with num_classes)")
    logits = torch.cat([f.class_head(c).cpu() for c in feature_chunks(f, images, device)])
    table = logits.softmax(dim=1) if soft else logits.argmax(dim=1)
    return InferredLabels(table, f.class_head.out_features)


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


def cluster_purity(clusters: torch.Tensor, truth: torch.Tensor) -> float:
    """Accuracy when every cluster is read as its own most frequent class."""
    return _contingency(clusters, truth).amax(dim=1).sum().item() / len(truth)
