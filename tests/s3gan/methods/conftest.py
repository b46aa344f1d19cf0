"""A tiny experiment (32×32, ch 8, batch 8) and real BigGAN networks for the method tests."""

from __future__ import annotations

import pytest
import torch

from s3gan.data.batch import Batch
from s3gan.methods import GanMethod, InferredLabels, build_method
from s3gan.nn.biggan import Discriminator, Generator
from s3gan.nn.ranges import from_uint8
from s3gan.spec.methods import TRAITS, Method
from s3gan.spec.model import Dataset, ExperimentSpec, Labels, Model, Training
from tests.fixtures.threads import one_intra_op_thread

CLASSES = 4
CLUSTERS = 3
BATCH = 8
IMAGES = 20  # the train split the inferred labels cover


def tiny_spec(method: Method, **training) -> ExperimentSpec:
    return ExperimentSpec(
        method=method,
        dataset=Dataset(uri="unused", resolution=32, num_classes=CLASSES),
        # Normal init: the methods' behaviour does not depend on it, and orthogonal init's QR
        # dominates these tests' time on a small CPU.
        model=Model(ch=8, attention=False, init="normal"),
        labels=Labels(clusters=CLUSTERS),
        training=Training(global_batch=BATCH, **training),
    )


def inferred_for(spec: ExperimentSpec) -> InferredLabels | None:
    """Labels as F would infer them: k-means clusters or S²L classes, hard or soft."""
    if TRAITS[spec.method].pretraining is None:
        return None
    generator = torch.Generator().manual_seed(7)
    classes = CLUSTERS if spec.method in (Method.CLUSTERING, Method.CLUSTERING_SS) else CLASSES
    if spec.pseudo_labels == "soft":
        logits = torch.randn(IMAGES, classes, generator=generator)
        return InferredLabels(torch.softmax(logits, dim=1), classes)
    return InferredLabels(torch.randint(classes, (IMAGES,), generator=generator), classes)


def make_batch(labelled: list[bool] | None = None, labels: list[int] | None = None,
               seed: int = 0) -> Batch:
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (BATCH, 3, 32, 32), dtype=torch.uint8, generator=generator)
    mask = torch.tensor(labelled if labelled is not None else [True, False] * (BATCH // 2))
    truth = torch.tensor(labels if labels is not None else [i % CLASSES for i in range(BATCH)])
    return Batch(images, truth, torch.arange(3, 3 + BATCH), mask)


class Setup:
    """A method with its G and D, a batch, reals in G's range and fakes."""

    def __init__(self, spec: ExperimentSpec, batch: Batch | None = None):
        torch.manual_seed(0)
        self.spec = spec
        self.method: GanMethod = build_method(spec, inferred_for(spec))
        self.G = Generator.from_spec(spec, self.method.num_classes)
        self.D = Discriminator.from_spec(spec, self.method.num_classes, self.method.heads)
        self.batch = batch if batch is not None else make_batch()
        self.reals = from_uint8(self.batch.images, spec.model.output_range)
        generator = torch.Generator().manual_seed(1)
        self.fake_labels = self.method.sample_fake_labels(BATCH, generator)
        z = torch.randn(BATCH, spec.model.z_dim, generator=generator)
        self.fakes = self.G(z, self.fake_labels)

    def d_loss(self, batch: Batch | None = None):
        batch = batch if batch is not None else self.batch
        return self.method.discriminator_loss(self.D, self.D.features, self.reals, batch,
                                              self.fakes.detach(), self.fake_labels)

    def g_loss(self):
        return self.method.generator_loss(self.D, self.D.features, self.fakes, self.fake_labels)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with one_intra_op_thread():
        yield


@pytest.fixture(scope="module", params=list(Method), ids=lambda m: m.value)
def setup(request) -> Setup:
    return Setup(tiny_spec(request.param))
