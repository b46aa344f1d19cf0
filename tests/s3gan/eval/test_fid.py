"""FID and IS through the project's path, with a tiny feature network standing in for Inception.

The tiny network is a real torch-fidelity feature extractor (registered with torch-fidelity),
so the project's numbers can be held against a direct ``torch_fidelity.calculate_metrics``.
"""

import math
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset
from torch_fidelity import calculate_metrics
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

from s3gan.data.storage import open_location
from s3gan.eval import real_stats
from s3gan.eval.evaluate import UNAVAILABLE, evaluate
from s3gan.eval.features import FeatureNetwork
from s3gan.eval.real_stats import RealStatsKey

TINY = "s3gan-tiny-test-features"


class TinyFeatures(FeatureExtractorBase):
    """4×4 average colours → a fixed random 16-d tanh embedding, and 10 logits on top."""

    def __init__(self, name, features_list, **kwargs):
        super().__init__(name, features_list)
        rng = torch.Generator().manual_seed(0)
        self.embed = nn.Linear(48, 16)
        self.classify = nn.Linear(16, 10)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=rng))
        self.requires_grad_(False)
        self.eval()

    def forward(self, x):
        pooled = F.adaptive_avg_pool2d(x.float() / 255 - 0.5, 4).flatten(1)
        features = torch.tanh(self.embed(pooled))
        out = {"16": features, "logits": 3 * self.classify(features)}
        return tuple(out[name] for name in self.features_list)

    @staticmethod
    def get_provided_features_list():
        return "16", "logits"

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return {"fid": "16", "isc": "logits", "kid": "16", "prc": "16"}[metric]

    @staticmethod
    def can_be_compiled():
        return False

    @staticmethod
    def get_dummy_input_for_compile():
        return torch.zeros(1, 3, 4, 4, dtype=torch.uint8)


if TINY not in FEATURE_EXTRACTORS_REGISTRY:
    register_feature_extractor(TINY, TinyFeatures)


def tiny_network(with_logits=True):
    layers = ["16", "logits"] if with_logits else ["16"]
    return FeatureNetwork(TinyFeatures(TINY, layers), "tiny-1", "16",
                          "logits" if with_logits else None)


def images(n, seed, shift=0):
    """Smooth random colour fields, uint8 [n, 3, 16, 16], brightened by ``shift``."""
    rng = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 4, 4, generator=rng) * 200 + 20
    fine = F.interpolate(coarse, size=16, mode="bilinear", align_corners=False)
    return (fine + shift).clamp(0, 255).to(torch.uint8)


def replay(pool):
    """``generate`` that hands out ``pool`` in order."""
    start = 0

    def generate(n):
        nonlocal start
        out = pool[start:start + n]
        start += n
        return out

    return generate


def batches(pool, size=50, labels=None):
    """(images, labels) batches of ``pool``; unlabelled (−1) unless ``labels`` are given."""
    labels = torch.full((len(pool),), -1) if labels is None else labels
    return ((pool[i:i + size], labels[i:i + size]) for i in range(0, len(pool), size))


@pytest.fixture
def dataset_dir(tmp_path):
    return open_location(str(tmp_path / "dataset"))


def real(location, pool, network=None):
    network = network or tiny_network()
    key = RealStatsKey("validation", network.identity, len(pool))
    return real_stats.cached(location, key, network, batches(pool))


def test_fid_of_a_set_against_itself_is_zero_and_grows_with_a_shift(dataset_dir):
    pool = images(400, seed=1)
    reference = real(dataset_dir, pool)
    network = tiny_network()
    same = evaluate(replay(pool), reference, 400, 1, network).fid
    small = evaluate(replay(images(400, seed=1, shift=15)), reference, 400, 1, network).fid
    large = evaluate(replay(images(400, seed=1, shift=60)), reference, 400, 1, network).fid
    assert abs(same) < 1e-6
    assert 0.01 < small < large


def test_fid_equals_a_direct_torch_fidelity_call_on_the_same_images(dataset_dir):
    reals, fakes = images(300, seed=2), images(250, seed=3, shift=10)
    ours = evaluate(replay(fakes), real(dataset_dir, reals), 250, 1, tiny_network()).fid

    class Images(Dataset):
        def __init__(self, pool):
            self.pool = pool

        def __len__(self):
            return len(self.pool)

        def __getitem__(self, i):
            return self.pool[i]

    direct = calculate_metrics(
        input1=Images(fakes), input2=Images(reals), fid=True, feature_extractor=TINY,
        cuda=False, save_cpu_ram=True, cache=False, verbose=False,
    )["frechet_inception_distance"]
    assert ours > 0.01
    assert ours == pytest.approx(direct, rel=1e-3)


def test_sets_are_independent_and_the_mean_is_reported(dataset_dir):
    reference = real(dataset_dir, images(200, seed=4))
    rng = torch.Generator().manual_seed(5)

    def generate(n):
        return torch.randint(0, 256, (n, 3, 16, 16), generator=rng, dtype=torch.uint8)

    scores = evaluate(generate, reference, 100, 3, tiny_network(), batch_size=32)
    assert len(set(scores.fid_per_set)) == 3
    assert scores.fid == pytest.approx(sum(scores.fid_per_set) / 3)
    assert len(scores.inception_score_per_set) == 3
    assert all(1.0 <= s <= 10.0 for s in scores.inception_score_per_set)
    record = scores.as_record()
    assert record["sets"] == 3 and record["samplesPerSet"] == 100
    assert record["inceptionScore"] == pytest.approx(np.mean(scores.inception_score_per_set))


def test_inception_score_is_unavailable_without_a_classifier(dataset_dir):
    network = tiny_network(with_logits=False)
    reference = real(dataset_dir, images(100, seed=6), network)
    scores = evaluate(replay(images(100, seed=7)), reference, 100, 1, network)
    assert scores.inception_score is None
    assert scores.as_record()["inceptionScore"] == UNAVAILABLE
    assert math.isfinite(scores.fid)


def test_real_statistics_are_cached_beside_the_dataset_and_found_by_key(dataset_dir):
    pool = images(120, seed=8)
    first = real(dataset_dir, pool)
    path = os.path.join(dataset_dir.root, "real-stats", "validation",
                        f"v{real_stats.VERSION}-tiny-1-120.npz")
    assert os.path.isfile(path)
    assert os.listdir(os.path.dirname(path)) == [os.path.basename(path)]  # no temporary left

    def untouchable():
        raise AssertionError("a cached key must not read the images again")
        yield

    again = real_stats.cached(dataset_dir, first.key, tiny_network(), untouchable())
    np.testing.assert_array_equal(again.fid.mu, first.fid.mu)
    np.testing.assert_array_equal(again.fid.sigma, first.fid.sigma)
    torch.testing.assert_close(again.features, first.features)  # the intra-class FID's input
    assert again.features.shape == (120, 16) and again.labels.tolist() == [-1] * 120
    # Another sample count is another key: computed from the first 100 images only.
    fewer = real_stats.cached(dataset_dir, RealStatsKey("validation", "tiny-1", 100),
                              tiny_network(), batches(pool, 32))
    expected = real_stats.compute(tiny_network(), batches(pool[:100], 100), fewer.key)
    np.testing.assert_allclose(fewer.fid.mu, expected.fid.mu, rtol=1e-6)
    assert not np.allclose(fewer.fid.mu, first.fid.mu)


def test_bad_real_statistics_are_refused_with_the_file_named(dataset_dir):
    key = RealStatsKey("validation", "tiny-1", 50)
    dataset_dir.write_whole(key.path, b"not an npz")
    with pytest.raises(ValueError, match="tiny-1-50.npz: not a real-statistics file"):
        real_stats.load(dataset_dir, key)
    with pytest.raises(ValueError, match="has 40 images, 50 requested"):
        real_stats.compute(tiny_network(), batches(images(40, seed=9)), key)
    other = real(dataset_dir, images(60, seed=9))
    dataset_dir.write_whole(key.path, open(os.path.join(dataset_dir.root, other.key.path),
                                           "rb").read())
    with pytest.raises(ValueError, match=f"holds version {real_stats.VERSION} statistics for"):
        real_stats.load(dataset_dir, key)


def test_a_real_statistics_file_of_another_version_is_never_found_nor_misread(dataset_dir,
                                                                               monkeypatch):
    pool = images(60, seed=11)
    key = real(dataset_dir, pool).key
    old_path, old = key.path, real_stats.VERSION
    monkeypatch.setattr(real_stats, "VERSION", real_stats.VERSION + 1)
    assert key.path != old_path  # another file name: the old one is never looked at
    assert real_stats.load(dataset_dir, key) is None
    # A file of the old version put where the new one belongs is refused, not read.
    dataset_dir.write_whole(key.path, dataset_dir.read_bytes(old_path))
    with pytest.raises(ValueError,
                       match=f"holds version {old} statistics .* expected version {old + 1}"):
        real_stats.load(dataset_dir, key)


def test_generate_must_return_what_was_asked(dataset_dir):
    reference = real(dataset_dir, images(50, seed=10))
    with pytest.raises(ValueError, match=r"generate\(32\) returned 31 images"):
        evaluate(lambda n: images(n - 1, seed=0), reference, 50, 1, tiny_network(), 32)
    with pytest.raises(ValueError, match=r"generate\(18\): expected uint8"):
        evaluate(lambda n: torch.rand(n, 3, 16, 16), reference, 18, 1, tiny_network())
    other = FeatureNetwork(TinyFeatures(TINY, ["16"]), "tiny-2", "16", None)
    with pytest.raises(ValueError, match="computed with 'tiny-1'"):
        evaluate(replay(images(50, seed=0)), reference, 50, 1, other)


def test_a_feature_network_must_produce_what_the_metrics_read():
    with pytest.raises(ValueError, match="does not produce {'logits'}"):
        FeatureNetwork(TinyFeatures(TINY, ["16"]), "tiny-1", "16", "logits")
    with pytest.raises(ValueError, match="identity 'Tiny 1'"):
        FeatureNetwork(TinyFeatures(TINY, ["16"]), "Tiny 1", "16", None)
