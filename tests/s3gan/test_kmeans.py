"""Mini-batch k-means: recovers planted clusters (class-sorted streams too) and matches
scikit-learn's inertia."""

import numpy as np
import pytest
import torch
from sklearn.cluster import MiniBatchKMeans as SklearnMiniBatchKMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from s3gan.kmeans import MiniBatchKMeans, cluster, random_sample, rechunk
from s3gan.pretrain import normalized_mutual_information


def _blobs(n, dim, centres, std, seed):
    x, y = make_blobs(n_samples=n, n_features=dim, centers=centres, cluster_std=std,
                      random_state=seed)
    return torch.tensor(x, dtype=torch.float32), y


def test_recovers_planted_clusters_from_a_stream_of_chunks():
    x, truth = _blobs(6000, 32, 10, 1.0, seed=0)
    kmeans, labels = cluster(lambda: x.split(1000), 10, seed=0, batch_size=256, sample_rows=2000,
                             chunk_rows=1000)
    assert adjusted_rand_score(truth, labels.numpy()) > 0.99
    assert torch.equal(labels, kmeans.assign(x))
    # the sample's three epochs and one streaming pass each moved a centre once per row
    assert kmeans.counts.sum().item() == 3 * 2000 + 6000


def _class_sorted_planted(seed=0):
    """The paper's CLUSTERING case at small size: 100 classes × 800 points in 64-d, sorted by
    class as F's features of a class-folder tree in listing order would be."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.randn(100, 64, generator=generator)
    truth = torch.arange(100).repeat_interleave(800)
    return centres[truth] + 0.35 * torch.randn(len(truth), 64, generator=generator), truth


def test_class_sorted_stream_gives_the_clusters_of_a_shuffled_one():
    x, truth = _class_sorted_planted()
    _, labels = cluster(lambda: x.split(2048), 50, seed=0, sample_rows=8192)
    score = normalized_mutual_information(labels, truth)
    assert score >= 0.85
    # Seeding k-means++ on the first chunk and streaming in class order, as before, does not.
    first = MiniBatchKMeans(50, seed=0)
    first.seed(x[:8192])
    for chunk in x.split(8192):
        first.partial_fit(chunk)
    assert normalized_mutual_information(first.assign(x), truth) < score - 0.1


def test_labels_do_not_depend_on_how_the_stream_is_chunked():
    x, _ = _blobs(3000, 8, 6, 1.5, seed=3)
    _, a = cluster(lambda: x.split(1000), 6, seed=4, sample_rows=500, chunk_rows=700)
    _, b = cluster(lambda: x.split(333), 6, seed=4, sample_rows=500, chunk_rows=700)
    assert torch.equal(a, b)


def test_random_sample_is_uniform_over_the_whole_stream():
    x = torch.arange(10_000, dtype=torch.float32)[:, None]
    sample = random_sample(x.split(1000), 2000, seed=0).squeeze(1)
    assert len(torch.unique(sample)) == 2000
    per_tenth = torch.bincount((sample // 1000).long(), minlength=10)
    assert per_tenth.min() > 150 and per_tenth.max() < 250  # 200 each expected
    assert [len(c) for c in rechunk(x.split(300), 4096)] == [4096, 4096, 1808]


def test_nmi_matches_scikit_learn():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 7, 500)
    clusters = np.where(rng.random(500) < 0.7, truth, rng.integers(0, 9, 500))
    ours = normalized_mutual_information(torch.from_numpy(clusters), torch.from_numpy(truth))
    assert ours == pytest.approx(normalized_mutual_info_score(truth, clusters), abs=1e-9)


@pytest.mark.parametrize(("k", "std"), [(8, 4.0), (20, 3.0), (50, 2.0)])
def test_inertia_is_within_a_few_percent_of_scikit_learn(k, std):
    x, _ = _blobs(20000, 16, 30, std, seed=1)
    kmeans, _ = cluster(lambda: x.split(5000), k, seed=0)
    ours = kmeans.inertia(x.split(5000))
    reference = SklearnMiniBatchKMeans(n_clusters=k, batch_size=1024, random_state=0, n_init=3)
    theirs = -reference.fit(x.numpy()).score(x.numpy())
    assert ours / theirs < 1.05


def test_inertia_is_the_sum_of_squared_distances_to_the_nearest_centre():
    x, _ = _blobs(500, 4, 3, 1.0, seed=2)
    kmeans, _ = cluster(lambda: [x], 3, seed=0)
    nearest = kmeans.centres[kmeans.assign(x)]
    expected = (x - nearest).square().sum().item()
    assert kmeans.inertia([x[:200], x[200:]]) == pytest.approx(expected, rel=1e-5)


def test_update_is_sculleys_per_point_rule_with_learning_rate_one_over_count():
    kmeans = MiniBatchKMeans(2, batch_size=8, seed=0)
    kmeans.centres = torch.tensor([[0.0, 0.0], [10.0, 10.0]])
    kmeans.counts = torch.tensor([1.0, 1.0], dtype=torch.float64)
    points = torch.tensor([[1.0, 0.0], [0.0, 2.0], [9.0, 10.0]])
    kmeans.partial_fit(points)
    # Algorithm 1 point by point: v ← v+1, c ← (1 − 1/v)c + x/v, i.e. the running mean.
    assert torch.allclose(kmeans.centres[0], torch.tensor([1 / 3, 2 / 3]))
    assert torch.allclose(kmeans.centres[1], torch.tensor([9.5, 10.0]))
    assert kmeans.counts.tolist() == [3.0, 2.0]


def test_seeding_picks_k_distinct_points_even_with_duplicates():
    x = torch.tensor(np.repeat(np.eye(3, dtype=np.float32), 5, axis=0))
    kmeans = MiniBatchKMeans(3, seed=1)
    kmeans.seed(x)
    assert torch.unique(kmeans.centres, dim=0).shape[0] == 3


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="k >= 2"):
        MiniBatchKMeans(1)
    with pytest.raises(ValueError, match="not fitted"):
        MiniBatchKMeans(2).assign(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="at least k=5"):
        MiniBatchKMeans(5).seed(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="empty"):
        cluster(lambda: [], 2, seed=0)
    kmeans, _ = cluster(lambda: [torch.randn(10, 2)], 2, seed=0)
    with pytest.raises(ValueError, match="3 features, the centres have 2"):
        kmeans.assign(torch.zeros(4, 3))
