"""Labels from F: k-means clusters or c_S2L's predictions, and their accuracy measures."""

import pytest
import torch

from s3gan.kmeans import cluster
from s3gan.methods.inferred_labels import InferredLabels
from s3gan.nn.resnet_v2 import ResNetV2
from s3gan.pretrain.features import extract_features, in_chunks, to_network_input
from s3gan.pretrain.label_inference import (
    by_stable_index,
    cluster_purity,
    infer_labels,
    label_accuracy,
    label_quality,
    matched_accuracy,
    network_outputs,
)


def _s2l(f, images, soft, chunk=7):
    return infer_labels(lambda: network_outputs(f, in_chunks(images, chunk), "s2l", "cpu"),
                        "s2l", 3, 0, seed=0, soft=soft)


@pytest.fixture(scope="module")
def images():
    return torch.randint(0, 256, (20, 3, 16, 16), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def f():
    torch.manual_seed(0)
    return ResNetV2(26, 1, resolution=16, num_classes=3)


def test_s2l_labels_are_c_s2l_predictions_in_image_order(f, images):
    hard, soft = _s2l(f, images, soft=False), _s2l(f, images, soft=True)
    with torch.no_grad():
        expected = f.eval().class_head(f(to_network_input(images, "cpu")))
    f.train()
    assert hard.table.dtype == torch.int64 and hard.num_classes == 3
    assert torch.equal(hard.table, expected.argmax(dim=1))
    assert soft.soft and torch.allclose(soft.table, expected.softmax(dim=1), atol=1e-5)
    assert torch.equal(soft.hard().table, hard.table)
    assert f.training  # inference switched BatchNorm back


def test_cluster_labels_are_k_means_of_f_features(f, images):
    labels = infer_labels(lambda: network_outputs(f, in_chunks(images, 10), "rotation", "cpu"),
                          "rotation", 3, clusters=4, seed=5, soft=False)
    assert labels.num_classes == 4 and len(labels) == 20
    features = extract_features(f, in_chunks(images, 10), "cpu")
    assert torch.equal(labels.table, cluster(lambda: [features], 4, seed=5)[1])
    quality = label_quality(labels, torch.arange(20) % 3, "rotation")
    assert set(quality) == {"matchedAccuracy", "purity", "nmi"}


def test_labels_land_at_their_stable_index():
    hard = by_stable_index(InferredLabels(torch.tensor([2, 1]), 3), torch.tensor([3, 0]))
    assert hard.table.tolist() == [1, 0, 0, 2]  # skipped indices 1 and 2 hold a placeholder


def test_matched_accuracy_and_purity_by_hand():
    truth = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2])
    clusters = torch.tensor([5, 5, 1, 1, 1, 1, 2, 2])
    # Purity: 5→0 (2), 1→1 (3 of 4), 2→2 (2) = 7/8.
    assert cluster_purity(clusters, truth) == pytest.approx(7 / 8)
    # One-to-one: same matching here.
    assert matched_accuracy(clusters, truth) == pytest.approx(7 / 8)
    # Two clusters of one class: purity counts both, a one-to-one matching only one.
    split = torch.tensor([0, 0, 1, 1, 1, 1, 2, 2])
    truth_two = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    assert cluster_purity(split, truth_two) == pytest.approx(6 / 8)
    assert matched_accuracy(split, truth_two) == pytest.approx(4 / 8)


def test_label_accuracy_and_mismatched_sizes(f, images):
    labels = _s2l(f, images, soft=True, chunk=1024)
    assert label_accuracy(labels, labels.hard().table) == 1.0
    with pytest.raises(ValueError, match="same images"):
        cluster_purity(torch.zeros(3, dtype=torch.long), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="c_S2L"):
        next(network_outputs(ResNetV2(26, 1, 16), in_chunks(images), "s2l", "cpu"))
