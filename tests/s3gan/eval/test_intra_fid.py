"""Intra-class FID: hand-made cases where each class's FID is known, and the cases where it must
say "not measured" instead of a number."""

import pytest
import torch

from s3gan.data.storage import open_location
from s3gan.eval import intra_fid, real_stats
from s3gan.eval.evaluate import evaluate
from s3gan.eval.fid import frechet_distance, statistics
from s3gan.eval.intra_fid import MIN_SAMPLES_PER_CLASS, IntraClassFid, NotMeasurable
from tests.s3gan.eval.test_fid import batches, images, real, tiny_network

N = MIN_SAMPLES_PER_CLASS + 10  # images per class on each side


@pytest.fixture
def dataset_dir(tmp_path):
    return open_location(str(tmp_path / "dataset"))


def test_each_class_is_scored_against_its_own_reals_and_the_classes_are_averaged():
    # Class 0's samples are its reals: FID 0. Class 1's are its reals moved by (3, 4): equal Σ,
    # so its FID is |Δμ|² = 25 exactly. Grouped by label, in any order.
    rng = torch.Generator().manual_seed(0)
    reals = torch.randn(2 * N, 2, generator=rng, dtype=torch.float64)
    labels = torch.arange(2 * N) % 2
    fakes = reals + (labels[:, None] == 1) * torch.tensor([3.0, 4.0], dtype=torch.float64)
    order = torch.randperm(2 * N, generator=rng)
    result = intra_fid.intra_class_fid(reals, labels, fakes[order], labels[order], 2)
    assert result.per_class == pytest.approx((0.0, 25.0), abs=1e-9)
    assert result.score == pytest.approx(12.5)
    assert result.generated_per_class == result.real_per_class == (N, N)
    # The labels G was asked for decide the grouping: swapped, the moved samples count as class 0.
    swapped = intra_fid.intra_class_fid(reals, labels, fakes, 1 - labels, 2)
    assert swapped.per_class[0] > 20 and swapped.per_class[1] < 1


def test_intra_class_fid_through_the_protocol_on_the_fid_sets_own_samples(dataset_dir):
    network = tiny_network()
    class0, class1 = images(N, seed=1), images(N, seed=2)
    reals = torch.cat([class0, class1])
    real_labels = torch.tensor([0] * N + [1] * N)
    key = real_stats.RealStatsKey("validation", network.identity, 2 * N)
    reference = real_stats.cached(dataset_dir, key, network, batches(reals, 32, real_labels))
    assert reference.labels.tolist() == real_labels.tolist()
    # The set: class 0 drawn as its reals, class 1 as brightened ones, interleaved.
    fakes = torch.stack([class0, images(N, seed=2, shift=40)], dim=1).flatten(0, 1)
    fake_labels = torch.tensor([0, 1] * N)
    start = 0

    def generate(n):
        nonlocal start
        out = fakes[start:start + n], fake_labels[start:start + n]
        start += n
        return out

    scores = evaluate(generate, reference, 2 * N, 1, network, batch_size=32, num_classes=2)
    measured = scores.intra_class_fid
    assert measured.per_class[0] == pytest.approx(0.0, abs=1e-4)
    # Class 1's term is the plain FID of class 1's samples against class 1's reals.
    features = network.features([images(N, seed=2, shift=40)])["16"]
    own = frechet_distance(statistics(reference.features[N:]), statistics(features))
    assert measured.per_class[1] == pytest.approx(own, rel=1e-4) and own > 0.05
    record = scores.as_record()
    assert record["intraClassFid"] == pytest.approx(own / 2, rel=1e-4)
    assert record["intraClassFidGeneratedPerClass"] == record["intraClassFidRealPerClass"] == [N, N]
    assert record["intraClassFidMinimumPerClass"] == MIN_SAMPLES_PER_CLASS
    assert "intraClassFidNotMeasured" not in record
    # Without labels asked for, the record says nothing about intra-class FID.
    start = 0
    plain = evaluate(lambda n: generate(n)[0], reference, 2 * N, 1, network, batch_size=32)
    assert not any(k.startswith("intraClassFid") for k in plain.as_record())
    assert plain.fid == pytest.approx(scores.fid)


def test_too_few_samples_of_a_class_is_not_measured_with_the_reason():
    features = torch.randn(3 * N, 4, dtype=torch.float64)
    labels = torch.arange(3 * N) % 3
    few = labels.clone()
    few[: N - MIN_SAMPLES_PER_CLASS + 30] = 0  # class 1 and 2 lose samples to class 0
    with pytest.raises(NotMeasurable, match=r"class 1 has \d+ generated images, fewer than 50"):
        intra_fid.intra_class_fid(features, labels, features, few, 3)
    with pytest.raises(NotMeasurable, match="class 1 has 0 real images"):
        intra_fid.intra_class_fid(features, labels * (labels != 1), features, labels, 3)
    unlabelled = torch.full((3 * N,), -1)
    with pytest.raises(NotMeasurable, match="class 0 has 0 real images"):
        intra_fid.intra_class_fid(features, unlabelled, features, labels, 3)


def test_the_protocol_records_not_measured_rather_than_a_number(dataset_dir):
    network = tiny_network()
    reference = real(dataset_dir, images(2 * N, seed=3), network)  # unlabelled reals

    def generate(n):
        return images(n, seed=4), torch.zeros(n, dtype=torch.int64)

    record = evaluate(generate, reference, 2 * N, 1, network, num_classes=2).as_record()
    assert "intraClassFid" not in record
    assert record["intraClassFidNotMeasured"] == "set 1: class 0 has 0 real images, fewer than 50"
    assert record["fid"] > 0


def test_the_mean_over_sets_is_taken_class_by_class():
    sets = [IntraClassFid((1.0, 3.0), (60, 55), (70, 70)),
            IntraClassFid((2.0, 5.0), (52, 66), (70, 70))]
    both = IntraClassFid.over_sets(sets)
    assert both.per_class == (1.5, 4.0) and both.score == 2.75
    assert both.generated_per_class == (52, 55)  # the fewest any set had
