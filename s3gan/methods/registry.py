"""The paper's Table 1 (plus the (SS) variants) as one table of compositions.

Each method is a labelling — how reals are labelled, how fake labels are drawn, what G and D
condition on — and, for SINGLE LABEL (SS), CLUSTERING (SS), S³GAN and S³GAN-CO, the rotation
self-supervision of eqs. 4 and 5 (``MethodTraits.rotation_self_supervision``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from s3gan.methods.co_training import CoTraining
from s3gan.methods.fake_labels import EmpiricalLabels, FakeLabels, SingleFakeLabel, UniformLabels
from s3gan.methods.gan_method import GanMethod
from s3gan.methods.inferred_labels import InferredLabels
from s3gan.methods.real_labels import (
    GroundTruth,
    InferredTable,
    RandomLabel,
    RealLabels,
    SingleLabel,
)
from s3gan.methods.self_supervision import RotationSelfSupervision
from s3gan.nn.heads import HeadSet
from s3gan.spec.methods import Method
from s3gan.spec.model import ExperimentSpec


@dataclass(frozen=True)
class Labelling:
    num_classes: int
    real_labels: RealLabels
    fake_labels: FakeLabels
    projection: bool = True
    classifier: bool = False  # c_CT (eq. 3)
    reads_only_labelled: bool = False


def _fully_supervised(spec: ExperimentSpec, inferred: InferredLabels | None) -> Labelling:
    classes = spec.dataset.num_classes
    return Labelling(classes, GroundTruth(), UniformLabels(classes))


def _labelled_subset_only(spec: ExperimentSpec, inferred: InferredLabels | None) -> Labelling:
    classes = spec.dataset.num_classes
    return Labelling(classes, GroundTruth(), UniformLabels(classes), reads_only_labelled=True)


def _single_label(spec: ExperimentSpec, inferred: InferredLabels | None) -> Labelling:
    return Labelling(1, SingleLabel(), SingleFakeLabel(), projection=False)


def _random_label(spec: ExperimentSpec, inferred: InferredLabels | None) -> Labelling:
    classes = spec.dataset.num_classes
    return Labelling(classes, RandomLabel(classes, spec.seeds.gan), UniformLabels(classes))


def _pseudo_labelled(spec: ExperimentSpec, inferred: InferredLabels, expected: int,
                     source: str) -> InferredLabels:
    if inferred.num_classes != expected:
        raise ValueError(f"{spec.method.value} expects labels over {expected} classes "
                         f"({source}), the inferred labels have {inferred.num_classes}")
    if spec.pseudo_labels == "hard":
        return inferred.hard()
    if not inferred.soft:
        raise ValueError("labels.pseudoLabels is 'soft' but the inferred labels are hard "
                         "(class indices): infer them as class probabilities")
    return inferred


def _clustering(spec: ExperimentSpec, inferred: InferredLabels | None) -> Labelling:
    table = _pseudo_labelled(spec, inferred, spec.labels.clusters, "labels.clusters")
    return Labelling(table.num_classes, InferredTable(table),
                     EmpiricalLabels(inferred.class_frequencies()))


def _pretrained_classifier(spec: ExperimentSpec, inferred: InferredLabels | None) -> Labelling:
    classes = spec.dataset.num_classes
    table = _pseudo_labelled(spec, inferred, classes, "dataset.numClasses")
    return Labelling(classes, InferredTable(table), UniformLabels(classes))


def _co_training(spec: ExperimentSpec, inferred: InferredLabels | None) -> Labelling:
    classes = spec.dataset.num_classes
    labeller = CoTraining(spec.training.lambda_, soft=spec.pseudo_labels == "soft")
    return Labelling(classes, labeller, UniformLabels(classes), classifier=True)


LABELLINGS: dict[Method, Callable[[ExperimentSpec, InferredLabels | None], Labelling]] = {
    Method.BIGGAN: _fully_supervised,
    Method.SINGLE_LABEL: _single_label,
    Method.SINGLE_LABEL_SS: _single_label,
    Method.RANDOM_LABEL: _random_label,
    Method.CLUSTERING: _clustering,
    Method.CLUSTERING_SS: _clustering,
    Method.BIGGAN_K: _labelled_subset_only,
    Method.S2GAN: _pretrained_classifier,
    Method.S2GAN_CO: _co_training,
    Method.S3GAN: _pretrained_classifier,
    Method.S3GAN_CO: _co_training,
}


def build_method(spec: ExperimentSpec, inferred_labels: InferredLabels | None = None
                 ) -> GanMethod:
    """The method ``spec.method`` with the spec's α, β, λ, rotation fraction and label choices.

    ``inferred_labels`` are the per-image labels of the train split for the methods pretrained
    with F (CLUSTERING: k-means clusters; S²GAN, S³GAN: the S²L classifier), None otherwise.
    """
    traits = spec.traits
    needs_inferred = traits.pretraining is not None
    if needs_inferred and inferred_labels is None:
        raise ValueError(f"method {spec.method.value} labels the reals with F "
                         f"({traits.pretraining} pretraining): inferred labels are required")
    if not needs_inferred and inferred_labels is not None:
        raise ValueError(f"method {spec.method.value} takes no inferred labels")
    labelling = LABELLINGS[spec.method](spec, inferred_labels)
    rotation = (RotationSelfSupervision(spec.training.alpha, spec.beta,
                                        spec.training.rotation_fraction)
                if traits.rotation_self_supervision else None)
    heads = HeadSet(projection=labelling.projection, rotation=rotation is not None,
                    classifier=labelling.classifier)
    return GanMethod(spec.method, labelling.num_classes, heads, labelling.real_labels,
                     labelling.fake_labels, rotation, labelling.reads_only_labelled)
