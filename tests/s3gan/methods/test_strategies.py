"""The label strategies on their own: the rules of paper Table 1's two label columns."""

from __future__ import annotations

import pytest
import torch

from s3gan.data.batch import Batch
from s3gan.methods import InferredLabels, build_method
from s3gan.methods.fake_labels import EmpiricalLabels, SingleFakeLabel, UniformLabels
from s3gan.methods.real_labels import GroundTruth, InferredTable, RandomLabel
from s3gan.methods.self_supervision import RotationSelfSupervision
from s3gan.spec.methods import Method

from .conftest import BATCH, CLASSES, CLUSTERS, IMAGES, Setup, make_batch, tiny_spec

NO_FEATURES = torch.zeros(BATCH, 1)


def _batch_with_index(index: torch.Tensor):
    n = index.shape[0]
    return Batch(torch.zeros(n, 3, 1, 1, dtype=torch.uint8),
                              torch.full((n,), -1), index, torch.zeros(n, dtype=torch.bool))


def test_random_label_is_fixed_per_image_uniform_and_seeded():
    index = torch.arange(40_000)
    labels = RandomLabel(10, seed=0)(_batch_with_index(index), NO_FEATURES, None).labels
    again = RandomLabel(10, seed=0)(_batch_with_index(index.flip(0)), NO_FEATURES, None).labels
    assert torch.equal(labels, again.flip(0))  # the image's label, whatever batch it is in
    counts = torch.bincount(labels, minlength=10).float()
    assert counts.min() > 3_600 and counts.max() < 4_400  # 4,000 expected per class
    other_seed = RandomLabel(10, seed=1)(_batch_with_index(index), NO_FEATURES, None).labels
    assert (labels == other_seed).float().mean() < 0.2  # 0.1 expected by chance
    neighbours = (labels[1:] == labels[:-1]).float().mean()
    assert neighbours < 0.2  # consecutive indices are not labelled alike


def test_random_label_ignores_ground_truth():
    batch = make_batch(labels=[3] * BATCH)
    labels = RandomLabel(CLASSES, seed=0)(batch, NO_FEATURES, None).labels
    assert labels.unique().numel() > 1


def test_ground_truth_refuses_images_without_labels():
    with pytest.raises(ValueError, match=r"label -1"):
        GroundTruth()(make_batch(labels=[0, 1, -1, 2, 3, 0, 1, 2]), NO_FEATURES, None)


def test_inferred_table_reads_each_images_row():
    table = torch.tensor([3, 1, 0, 2, 1, 0, 3, 2, 2, 1, 0, 3])
    batch = make_batch()  # indices 3..10
    labels = InferredTable(InferredLabels(table, CLASSES))(batch, NO_FEATURES, None).labels
    assert labels.tolist() == table[3:11].tolist()


def test_uniform_fake_labels_cover_every_class():
    labels = UniformLabels(5).sample(5_000, torch.Generator().manual_seed(0))
    counts = torch.bincount(labels, minlength=5)
    assert counts.min() > 900 and counts.max() < 1_100


def test_empirical_fake_labels_follow_the_cluster_distribution():
    frequencies = InferredLabels(torch.tensor([0] * 6 + [2] * 2), 3).class_frequencies()
    labels = EmpiricalLabels(frequencies).sample(8_000, torch.Generator().manual_seed(0))
    counts = torch.bincount(labels, minlength=3)
    assert counts[1] == 0  # an empty cluster is never drawn
    assert abs(counts[0].item() / 8_000 - 0.75) < 0.02


def test_single_fake_label_is_always_zero():
    assert SingleFakeLabel().sample(6).tolist() == [0] * 6


@pytest.mark.parametrize(("fraction", "batch", "rotated"),
                         [(0.25, 8, 2), (0.25, 2, 1), (1.0, 4, 4), (0.1, 2048, 205)])
def test_rotated_count_is_the_specs_share(fraction, batch, rotated):
    assert RotationSelfSupervision(0.2, 0.5, fraction).rotated_count(batch) == rotated


def test_clustering_labels_reals_by_cluster_and_fakes_by_cluster_frequency():
    spec = tiny_spec(Method.CLUSTERING)
    table = torch.tensor([1] * IMAGES)  # every image in cluster 1
    method = build_method(spec, InferredLabels(table, CLUSTERS))
    assert method.num_classes == CLUSTERS
    assert method.sample_fake_labels(50).eq(1).all()
    assert method.real_labels(make_batch(), NO_FEATURES, None).labels.eq(1).all()


def test_s2gan_hard_by_default_soft_as_an_option():
    soft_table = torch.softmax(torch.randn(IMAGES, CLASSES, generator=torch.Generator()
                                           .manual_seed(0)), dim=1)
    inferred = InferredLabels(soft_table, CLASSES)
    hard = build_method(tiny_spec(Method.S2GAN), inferred)
    labels = hard.real_labels(make_batch(), NO_FEATURES, None).labels
    assert labels.dtype == torch.int64
    assert labels.tolist() == soft_table[3:11].argmax(dim=1).tolist()
    spec = tiny_spec(Method.S2GAN)
    soft_spec = spec.model_copy(update={"labels": spec.labels.model_copy(
        update={"pseudo_labels": "soft"})})
    soft = build_method(soft_spec, inferred)
    assert torch.equal(soft.real_labels(make_batch(), NO_FEATURES, None).labels,
                       soft_table[3:11])
    with pytest.raises(ValueError, match="pseudoLabels is 'soft' but the inferred labels are hard"):
        build_method(soft_spec, inferred.hard())


def test_soft_s2gan_trains_through_the_projection_with_soft_rows():
    spec = tiny_spec(Method.S2GAN)
    spec = spec.model_copy(update={"labels": spec.labels.model_copy(
        update={"pseudo_labels": "soft"})})
    s = Setup(spec)
    loss = s.d_loss()
    loss.total.backward()
    assert torch.isfinite(loss.total)
    assert all(p.grad.abs().sum() > 0 for p in s.D.projection.parameters())


@pytest.mark.parametrize("method", [Method.CLUSTERING, Method.S2GAN, Method.S3GAN])
def test_methods_pretrained_with_f_require_inferred_labels(method):
    with pytest.raises(ValueError, match="inferred labels are required"):
        build_method(tiny_spec(method), None)


def test_methods_without_f_refuse_inferred_labels():
    with pytest.raises(ValueError, match="takes no inferred labels"):
        build_method(tiny_spec(Method.BIGGAN), InferredLabels(torch.tensor([0]), CLASSES))


def test_inferred_labels_over_the_wrong_number_of_classes_are_refused():
    with pytest.raises(ValueError, match=r"expects labels over 3 classes \(labels.clusters\)"):
        build_method(tiny_spec(Method.CLUSTERING), InferredLabels(torch.tensor([0]), CLASSES))
    with pytest.raises(ValueError, match=r"over 4 classes \(dataset.numClasses\)"):
        build_method(tiny_spec(Method.S2GAN), InferredLabels(torch.tensor([0]), CLUSTERS))


def test_biggan_k_reads_only_the_labelled_subset():
    method = build_method(tiny_spec(Method.BIGGAN_K))
    assert method.reads_only_labelled
    with pytest.raises(ValueError, match="read only the labelled subset"):
        method.real_labels(make_batch(labels=[-1] * BATCH), NO_FEATURES, None)
