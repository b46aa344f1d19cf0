"""A tiny experiment and a deterministic stream of real batches for the trainer's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from s3gan.data.batch import Batch
from s3gan.spec import parse_experiment
from s3gan.spec.model import ExperimentSpec
from tests.fixtures.threads import one_intra_op_thread


def tiny_spec(seed: int = 3, **training) -> ExperimentSpec:
    """S³GAN-CO (rotation and class heads, soft co-training labels) at 32×32, ch 8."""
    return parse_experiment({
        "apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
        "metadata": {"name": "tiny"},
        "spec": {
            "method": "s3gan-co",
            "dataset": {"uri": "unused", "resolution": 32, "numClasses": 4},
            "model": {"ch": 8, "sharedEmbeddingDim": 8, "zDim": 20},
            "training": {"globalBatch": 8, "microBatch": 4, "diffAugment": ["translation"],
                         "orthogonalRegularization": 1e-4,
                         "ema": {"decay": 0.9, "startStep": 2}, **training},
            "evaluation": {"standingStatsSamples": 16},
            "seeds": {"gan": seed},
        },
    }).spec


def real_batches(start: int = 0, size: int = 4, classes: int = 4) -> Iterator[Batch]:
    """Micro-batch i is a pure function of i, so a reader resumed at ``start`` is exact."""
    i = start
    while True:
        g = torch.Generator().manual_seed(1000 + i)
        yield Batch(
            images=torch.randint(0, 256, (size, 3, 32, 32), generator=g, dtype=torch.uint8),
            labels=torch.randint(0, classes, (size,), generator=g),
            index=torch.arange(i * size, (i + 1) * size),
            labelled=torch.rand(size, generator=g) < 0.5,
        )
        i += 1


@pytest.fixture(autouse=True)
def one_thread():
    with one_intra_op_thread():
        yield


@pytest.fixture(name="tiny_spec")
def tiny_spec_factory():
    return tiny_spec


@pytest.fixture(name="real_batches")
def real_batches_factory():
    return real_batches


@pytest.fixture
def spec() -> ExperimentSpec:
    return tiny_spec()
