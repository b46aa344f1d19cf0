"""The Classification Accuracy Score on a hand-made case, and the evaluation classifier: it
learns, reports its held-out accuracy, and is trained once per dataset, then found in the cache."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from s3gan.data.storage import open_location
from s3gan.eval.class_accuracy import ClassifierKey, cached, class_accuracy_score

# What a hand-made "generator" draws for each requested class, sample by sample: class 0 is
# always right, class 1 half the time, class 2 once in four.
DRAWS = {0: [0, 0, 0, 0], 1: [1, 2, 1, 0], 2: [0, 2, 1, 1]}


def _hand_made():
    served = {c: 0 for c in DRAWS}

    def generate(labels: torch.Tensor) -> torch.Tensor:
        drawn = []
        for c in labels.tolist():
            drawn.append(DRAWS[c][served[c]])
            served[c] += 1
        # The drawn class is written into the pixels; the "classifier" reads it back.
        return torch.tensor(drawn, dtype=torch.uint8).view(-1, 1, 1, 1).expand(-1, 3, 4, 4)

    def classify(images: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.one_hot(images[:, 0, 0, 0].long(), 3).float()

    return generate, classify


def test_the_score_is_the_share_of_samples_put_in_the_class_asked_for():
    generate, classify = _hand_made()
    cas = class_accuracy_score(classify, generate, range(3), samples_per_class=4,
                               classifier_test_accuracy=0.9, batch_size=3)  # batches straddle
    assert cas.per_class == (1.0, 0.5, 0.25)
    assert cas.score == pytest.approx(1.75 / 3)
    assert cas.standard_error == pytest.approx(math.sqrt(cas.score * (1 - cas.score) / 12))
    record = cas.as_record()
    assert record["classAccuracyScore"] == cas.score and record["classifierTestAccuracy"] == 0.9
    assert record["classAccuracySamplesPerClass"] == 4


def _separable(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Three classes told apart by which colour channel is bright."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (n,), generator=g)
    images = torch.randint(0, 60, (n, 3, 16, 16), generator=g)
    images[torch.arange(n), labels] += 150
    return images.to(torch.uint8), labels


def test_the_classifier_learns_reports_held_out_accuracy_and_is_trained_once(tmp_path):
    torch.set_num_threads(1)
    location = open_location(str(tmp_path))
    key = ClassifierKey("train", "test", 3, epochs=5, seed=0)
    opened = []

    def train():
        opened.append("train")
        images, labels = _separable(256, 0)
        batches = itertools.cycle(zip(images.split(32), labels.split(32), strict=True))
        return batches, 8

    def test():
        images, labels = _separable(128, 1)
        return zip(images.split(64), labels.split(64), strict=True)

    first = cached(location, key, train, test, say=lambda _: None)
    assert first.test_accuracy > 0.9
    again = cached(location, key, train, test, say=lambda _: None)
    assert opened == ["train"] and again.test_accuracy == first.test_accuracy
    images, _ = _separable(16, 2)
    assert torch.equal(again(images).argmax(1), first(images).argmax(1))
    other = ClassifierKey("train", "test", 3, epochs=6, seed=0)
    assert other.path != key.path  # another recipe is another cache entry
