"""Stage ``labels``: F over every training image with Ray Data, then the labels the GAN reads.

CLUSTERING: mini-batch k-means (``labels.clusters`` centres) on F's features, ŷ = c_CL(F(x)).
S²GAN / S³GAN: the class probabilities of F's S²L head, ŷ = c_S2L(F(x)), stored soft (the method
takes the argmax when ``labels.pseudoLabels`` is hard, paper Table 5), so one table serves both.
The table is indexed by the image's stable index and written whole as ``labels.npz``; the
record carries the labels' quality against the ground truth, which no training step reads.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from s3gan_workers.data import image_dataset
from s3gan_workers.stages import pretrain
from s3gan_workers.stages.context import StageContext, StageOutput

from s3gan.data.storage import Location
from s3gan.kmeans import MiniBatchKMeans
from s3gan.methods.inferred_labels import InferredLabels
from s3gan.nn.resnet_v2 import ResNetV2
from s3gan.pretrain import cluster_purity, label_accuracy, matched_accuracy
from s3gan.pretrain.features import to_network_input
from s3gan.spec.model import ExperimentSpec

NAME = "labels"
INPUTS = (pretrain.NAME,)
TABLE = "labels.npz"
INFERENCE_BATCH = 256
KMEANS_PASSES = 2  # a second pass settles the centres seeded on the first chunk
KMEANS_CHUNK = 8_192  # the first chunk seeds k-means++, so it must hold ≥ k features


def depends_on(spec: ExperimentSpec) -> dict:
    parts: dict = {"split": spec.dataset.train_split}
    if spec.traits.pretraining == "rotation":
        parts |= {"clusters": spec.labels.clusters, "seed": spec.seeds.pretraining}
    return parts


@torch.no_grad()
def _infer(rows: dict[str, np.ndarray], spec: ExperimentSpec,
           weights: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """Image rows → F(x) (for k-means) or c_S2L's logits (S²L). A plain function, so Ray Data
    fuses it with the shard decoding into one task per shard."""
    f = ResNetV2.from_spec(spec, pretrain.f_classes(spec))
    f.load_state_dict(weights)
    f.eval()
    images = torch.from_numpy(np.require(rows["images"], requirements="W"))
    features = torch.cat([f.features(to_network_input(chunk, "cpu"))
                          for chunk in images.split(INFERENCE_BATCH)])
    out = f.class_head(features) if spec.traits.pretraining == "s2l" else features
    return {"index": rows["index"], "truth": rows["labels"], "output": out.numpy()}


def run(context: StageContext) -> StageOutput:
    spec = context.spec
    f = pretrain.load_feature_extractor(context)
    rows = image_dataset(spec.dataset.uri, spec.dataset.train_split, spec.storage).map_batches(
        _infer, fn_kwargs={"spec": spec, "weights": f.state_dict()}, batch_size=None)
    parts = list(rows.iter_batches(batch_size=None, batch_format="numpy"))
    index = np.concatenate([p["index"] for p in parts])
    order = np.argsort(index)
    index = torch.from_numpy(index[order])
    truth = torch.from_numpy(np.concatenate([p["truth"] for p in parts])[order])
    output = torch.from_numpy(np.concatenate([p["output"] for p in parts])[order])
    if spec.traits.pretraining == "rotation":
        labels, quality = _clusters(spec, output, truth)
    else:
        labels = InferredLabels(output.float().softmax(dim=1), spec.dataset.num_classes)
        quality = {"accuracy": label_accuracy(labels, truth)}
    table = _by_stable_index(labels, index)
    context.run.write_whole(f"{context.directory}/{TABLE}", _npz(table))
    shown = ", ".join(f"{name} {value:.3f}" for name, value in quality.items())
    context.say(f"labels: {len(index)} images, {table.num_classes} classes; quality {shown}")
    return StageOutput({"images": len(index), "classes": table.num_classes, **quality}, (TABLE,))


def _clusters(spec: ExperimentSpec, features: torch.Tensor, truth: torch.Tensor
              ) -> tuple[InferredLabels, dict[str, float]]:
    kmeans = MiniBatchKMeans(spec.labels.clusters, seed=spec.seeds.pretraining)
    for _ in range(KMEANS_PASSES):
        kmeans.fit(features.split(KMEANS_CHUNK))
    clusters = kmeans.assign(features)
    quality = {"matchedAccuracy": matched_accuracy(clusters, truth),
               "purity": cluster_purity(clusters, truth)}
    return InferredLabels(clusters, spec.labels.clusters), quality


def _by_stable_index(labels: InferredLabels, index: torch.Tensor) -> InferredLabels:
    """Row i for the image of stable index i. Indices of images the conversion skipped get a
    placeholder row (class 0, or uniform probabilities) that no batch ever looks up."""
    size = int(index.max()) + 1
    if labels.soft:
        table = torch.full((size, labels.num_classes), 1.0 / labels.num_classes)
    else:
        table = torch.zeros(size, dtype=torch.int64)
    table[index] = labels.table
    return InferredLabels(table, labels.num_classes)


def _npz(labels: InferredLabels) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, table=labels.table.numpy(), num_classes=labels.num_classes)
    return buffer.getvalue()


def read_inferred_labels(run: Location, directory: str) -> InferredLabels:
    """The label table a finished ``labels`` stage wrote under ``directory``."""
    path = f"{directory}/{TABLE}"
    with np.load(io.BytesIO(run.read_bytes(path))) as f:
        try:
            return InferredLabels(torch.from_numpy(f["table"]), int(f["num_classes"]))
        except (KeyError, ValueError) as e:
            raise ValueError(f"{run.url(path)}: not a label table ({e})") from e
