"""Mini-batch k-means: recovers planted clusters and matches scikit-learn's inertia."""

import itertools

import numpy as np
import pytest
import torch
from sklearn.cluster import MiniBatchKMeans as SklearnMiniBatchKMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from s3gan.kmeans import MiniBatchKMeans


def _blobs(n, dim, centres, std, seed):
    x, y = make_blobs(n_samples=n, n_features=dim, centers=centres, cluster_std=std,
                      random_state=seed)
    return torch.tensor(x, dtype=torch.float32), y


def test_recovers_planted_clusters_from_a_stream_of_chunks():
    x, truth = _blobs(6000, 32, 10, 1.0, seed=0)
    kmeans = MiniBatchKMeans(10, batch_size=256, seed=0).fit(iter(x.split(1000)))
    assert adjusted_rand_score(truth, kmeans.assign(x).numpy()) > 0.99
    assert kmeans.counts.sum().item() == 6000  # every streamed row moved a centre once


@pytest.mark.parametrize(("k", "std"), [(8, 4.0), (20, 3.0), (50, 2.0)])
def test_inertia_is_within_a_few_percent_of_scikit_learn(k, std):
    x, _ = _blobs(20000, 16, 30, std, seed=1)
    passes = itertools.chain.from_iterable(x.split(5000) for _ in range(5))
    ours = MiniBatchKMeans(k, batch_size=1024, seed=0).fit(passes).inertia(x.split(5000))
    reference = SklearnMiniBatchKMeans(n_clusters=k, batch_size=1024, random_state=0, n_init=3)
    theirs = -reference.fit(x.numpy()).score(x.numpy())
    assert ours / theirs < 1.05


def test_inertia_is_the_sum_of_squared_distances_to_the_nearest_centre():
    x, _ = _blobs(500, 4, 3, 1.0, seed=2)
    kmeans = MiniBatchKMeans(3, seed=0).fit([x])
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
        MiniBatchKMeans(5).fit([torch.zeros(3, 2)])
    with pytest.raises(ValueError, match="empty"):
        MiniBatchKMeans(2).fit([])
    kmeans = MiniBatchKMeans(2).fit([torch.randn(10, 2)])
    with pytest.raises(ValueError, match="3 features, the centres have 2"):
        kmeans.assign(torch.zeros(4, 3))
