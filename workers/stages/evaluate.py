"""Stage ``evaluate``: FID (and IS where the weights allow), the intra-class FID
(``s3gan.eval.intra_fid``, on the FID sets' own samples) and the Classification Accuracy Score
(``s3gan.eval.class_accuracy``) of the final generator.

The paper's protocol (section 4) through ``s3gan.eval``: the EMA generator with standing
BatchNorm statistics samples ``evaluation.sets`` sets of ``samplesPerSet`` images; the real
statistics of the evaluation split are computed once and cached beside the dataset's shards.
The same measurement gives the training stage its FID-vs-step curve.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import ray
import torch
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy
from s3gan_workers.stages import ray_train
from s3gan_workers.stages.context import StageContext, StageOutput
from s3gan_workers.stages.run_files import CURVES, MetricsLog, curves_png
from s3gan_workers.stages.split import image_batches, shard_images
from torch import nn

from s3gan.data.manifest import read_manifest
from s3gan.data.reader import TrainingReader
from s3gan.data.storage import Location, open_location
from s3gan.eval import class_accuracy, real_stats
from s3gan.eval.class_accuracy import ClassAccuracy
from s3gan.eval.evaluate import Scores, evaluate
from s3gan.eval.features import FeatureNetwork, inception_network
from s3gan.eval.inception_weights import resolve, weights_label
from s3gan.eval.sampling import sample_latents
from s3gan.monitor.exporter import Exporter
from s3gan.nn.ranges import to_uint8
from s3gan.spec.methods import Method
from s3gan.spec.model import ExperimentSpec, Storage

NAME = "evaluate"
INPUTS = ("train",)
SCORES = "scores.json"
REAL_BATCH = 100
CLASSIFIER_BATCH = 128
_FID_STREAM = 3  # offset from seeds.gan: FID samples never share draws with training
_CAS_STREAM = 4


@dataclass(frozen=True)
class InceptionNetwork:
    """``evaluation.inceptionWeights`` → Inception-v3 through torch-fidelity, on the worker."""

    weights: str | None
    storage: Storage

    def __call__(self) -> FeatureNetwork:
        cache = Path.home() / ".cache" / "s3gan"
        return inception_network(resolve(self.weights, cache, self.storage), ray_train.device())


def depends_on(spec: ExperimentSpec) -> dict:
    return {"evaluation": spec.evaluation, "split": spec.dataset.eval_split}


def measure(generator_net: nn.Module, spec: ExperimentSpec, method, network: FeatureNetwork,
            intra_class: bool = False) -> Scores:
    """The protocol's scores for ``generator_net`` (in eval mode, statistics already standing);
    with ``intra_class`` the intra-class FID too, or why it is not measured."""
    dataset = open_location(spec.dataset.uri, spec.storage)
    split = spec.dataset.eval_split
    samples = spec.evaluation.real_samples or read_manifest(dataset).counts[split]
    real = real_stats.cached(dataset, real_stats.RealStatsKey(split, network.identity, samples),
                             network, image_batches(dataset, split, REAL_BATCH))
    device = next(generator_net.parameters()).device
    rng = torch.Generator(device).manual_seed(spec.seeds.gan + _FID_STREAM)

    by_class = intra_class and labels_are_classes(spec, method)

    @torch.no_grad()
    def generate(n: int) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        z = sample_latents(n, spec.model.z_dim, spec.evaluation.truncation, rng).to(device)
        labels = method.sample_fake_labels(n, rng)
        images = to_uint8(generator_net(z, labels).float(), spec.model.output_range).cpu()
        return (images, labels) if by_class else images

    scores = evaluate(generate, real, spec.evaluation.samples_per_set, spec.evaluation.sets,
                      network, batch_size=spec.micro_batch,
                      num_classes=spec.dataset.num_classes if by_class else None)
    if intra_class and not by_class:
        return replace(scores, intra_class_fid_not_measured=f"G's labels are not the dataset's "
                       f"classes ({spec.method.value})")
    return scores


def measure_class_accuracy(generator_net: nn.Module, spec: ExperimentSpec, method
                           ) -> ClassAccuracy | None:
    """CAS of ``generator_net`` (in eval mode, statistics standing), or None when it is off or
    G's labels are not the dataset's classes (SINGLE LABEL's one label, CLUSTERING's clusters)."""
    per_class = spec.evaluation.class_accuracy_samples_per_class
    if per_class == 0 or not labels_are_classes(spec, method):
        return None
    device = next(generator_net.parameters()).device
    classifier = evaluation_classifier(spec, device)
    rng = torch.Generator(device).manual_seed(spec.seeds.gan + _CAS_STREAM)

    @torch.no_grad()
    def generate(labels: torch.Tensor) -> torch.Tensor:
        z = sample_latents(labels.numel(), spec.model.z_dim, spec.evaluation.truncation, rng)
        images = generator_net(z.to(device), labels.to(device)).float()
        return to_uint8(images, spec.model.output_range)

    return class_accuracy.class_accuracy_score(
        classifier, generate, range(spec.dataset.num_classes), per_class,
        classifier.test_accuracy, batch_size=spec.micro_batch)


def evaluation_classifier(spec: ExperimentSpec, device: torch.device | str = "cpu"
                          ) -> class_accuracy.TrainedClassifier:
    """The dataset's evaluation-only classifier: from its cache, else trained on every train
    label and cached (``s3gan.eval.class_accuracy``)."""
    dataset = open_location(spec.dataset.uri, spec.storage)
    key = class_accuracy.ClassifierKey(spec.dataset.train_split, spec.dataset.eval_split,
                                       spec.dataset.num_classes,
                                       spec.evaluation.classifier_epochs, spec.seeds.gan)

    def train() -> tuple[Iterator[tuple[torch.Tensor, torch.Tensor]], int]:
        reader = TrainingReader(spec.dataset.uri, spec.dataset.train_split, CLASSIFIER_BATCH,
                                key.seed, storage=spec.storage)
        return ((b.images, b.labels) for b in reader), reader.steps_per_epoch

    def test() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for images, truth, _ in shard_images(dataset, spec.dataset.eval_split):
            # Copies: Arrow's buffers are read-only, and torch warns on a read-only view.
            yield from zip(torch.tensor(images).split(REAL_BATCH),
                           torch.tensor(truth).split(REAL_BATCH), strict=True)

    return class_accuracy.cached(dataset, key, train, test, device)


def labels_are_classes(spec: ExperimentSpec, method) -> bool:
    """Whether G's label y means dataset class y (RANDOM LABEL's do, and it is the point to see
    that G ignores them)."""
    return (method.num_classes == spec.dataset.num_classes
            and spec.method not in (Method.CLUSTERING, Method.CLUSTERING_SS))


def export_scores(exporter: Exporter, spec: ExperimentSpec, run_labels: dict[str, str],
                  scores: Scores, cas: ClassAccuracy | None = None) -> None:
    """FID, IS and the intra-class FID under the run's labels (``experiment``, ``trial``) and the
    weights'; CAS and its classifier's held-out accuracy under the run's."""
    labels = {**run_labels, "weights": weights_label(spec.evaluation.inception_weights)}
    exporter.set("s3gan_fid", scores.fid, **labels)
    if scores.intra_class_fid is not None:
        exporter.set("s3gan_intra_class_fid", scores.intra_class_fid.score, **labels)
    if scores.inception_score is not None:
        exporter.set("s3gan_inception_score", scores.inception_score, **labels)
    if cas is not None:
        exporter.set("s3gan_class_accuracy_score_ratio", cas.score, **run_labels)
        exporter.set("s3gan_evaluation_classifier_accuracy_ratio",
                     cas.classifier_test_accuracy, **run_labels)


def run(context: StageContext) -> StageOutput:
    spec = context.spec
    train = context.inputs["train"]
    # Never inside the caller's placement group: a sweep's trial holds only its own 0.1 CPU.
    task = _evaluate.options(num_cpus=spec.resources.cpus_per_worker,
                             num_gpus=1 if spec.resources.accelerator.kind == "gpu" else 0,
                             scheduling_strategy=PlacementGroupSchedulingStrategy(None))
    record = ray.get(task.remote(spec, context.run_labels, context.run.uri, train.directory,
                                 context.inputs.get("labels"), context.directory,
                                 context.feature_network, context.metrics_port))
    context.say(f"evaluate: FID {record['fid']:.2f} over {record['sets']} set(s) of "
                f"{record['samplesPerSet']} samples (step {train.results['steps']}, "
                f"{record['network']}); IS {record['inceptionScore']}")
    context.say(f"evaluate: {describe_intra_class_fid(record)}")
    context.say(f"evaluate: {describe_class_accuracy(record)}")
    return StageOutput(record, (SCORES, CURVES))


@ray.remote
def _evaluate(spec: ExperimentSpec, run_labels: dict[str, str], run_uri: str, train_directory: str,
              labels_record, directory: str, feature_network, metrics_port: int | None) -> dict:
    from s3gan_workers.stages.train import FINAL, restored_trainer

    torch.set_num_threads(ray_train.threads(spec.resources.cpus_per_worker))
    run = open_location(run_uri, spec.storage)
    trainer = restored_trainer(spec, run, labels_record, f"{train_directory}/{FINAL}",
                               ray_train.device())
    generator_net = trainer.evaluation_generator()
    scores = measure(generator_net, spec, trainer.method, feature_network(), intra_class=True)
    cas = measure_class_accuracy(generator_net, spec, trainer.method)
    record = {**scores.as_record(), **(cas.as_record() if cas else {}),
              "step": trainer.step}  # which checkpoint the scores are of
    exporter = Exporter()
    if metrics_port is not None:
        exporter.start(metrics_port)
    export_scores(exporter, spec, run_labels, scores, cas)
    _curves_with_final_point(run, train_directory, directory, trainer.step, record)
    run.write_whole(f"{directory}/{SCORES}", json.dumps(record).encode())
    exporter.stop()
    return record


def describe_class_accuracy(record: dict) -> str:
    """``CAS 0.712 ± 0.005 (100 per class); evaluation classifier 0.912 on held-out reals``."""
    if "classAccuracyScore" not in record:
        return "CAS not measured (off, or G's labels are not the dataset's classes)"
    return (f"CAS {record['classAccuracyScore']:.3f} ± {record['classAccuracyStandardError']:.3f}"
            f" ({record['classAccuracySamplesPerClass']} samples per class); evaluation "
            f"classifier {record['classifierTestAccuracy']:.3f} on held-out real images")


def describe_intra_class_fid(record: dict) -> str:
    """``intra-class FID 181.20 (≥ 88 generated, ≥ 91 real images per class; …)``."""
    if "intraClassFid" not in record:
        return (f"intra-class FID not measured: "
                f"{record.get('intraClassFidNotMeasured', 'not asked for')}")
    return (f"intra-class FID {record['intraClassFid']:.2f} (≥ "
            f"{min(record['intraClassFidGeneratedPerClass'])} generated, ≥ "
            f"{min(record['intraClassFidRealPerClass'])} real images per class; biased upward "
            "at few images per class, comparable only at equal counts)")


def _curves_with_final_point(run: Location, train_directory: str, directory: str, step: int,
                             record: dict) -> None:
    log = MetricsLog(run, train_directory, resumed_step=step)
    log.records = [r for r in log.records if not (r["kind"] == "fid" and r["step"] == step)]
    log.add({"step": step, "kind": "fid", "fid": record["fid"],
             "samplesPerSet": record["samplesPerSet"]})
    run.write_whole(f"{directory}/{CURVES}", curves_png(log))
