"""Stage ``labels``: F over every training image on a Ray Data actor pool, then the labels the
GAN reads.

CLUSTERING: k-means (``labels.clusters`` centres) on F's features, ŷ = c_CL(F(x)). S²GAN /
S³GAN: c_S2L's prediction, ŷ = c_S2L(F(x)), hard or soft as ``labels.pseudoLabels`` says (paper
Table 5). Both come from ``s3gan.pretrain.infer_labels``, the function ``s3gan pretrain`` calls,
on the same F outputs in the same order, so the same spec gives the same labels.

Memory does not grow with the split: each actor of the pool (``resources.workers`` of them,
``cpusPerWorker`` CPUs and a GPU each where the accelerator is one) loads F's weights once from
the run's storage, reads, verifies and decodes one shard per call and writes F's outputs for it
as ``outputs/<split>-<shard>.npz`` (stable index, ground truth, output) in the stage's
directory. The driver holds only the list of those files; k-means and the label table read them
back shard by shard in stable-index order. The table (``labels.npz``, row i for stable index i)
is the one whole thing written. For S²L the stage also scores c_S2L on the held-out split
(paper Table 3, top-1); the record carries the labels' quality against the ground truth, which
no training step reads.
"""

from __future__ import annotations

import io

import numpy as np
import ray
import ray.data
import torch
from s3gan_workers import ray_session
from s3gan_workers.stages import pretrain, ray_train
from s3gan_workers.stages.context import StageContext, StageOutput
from s3gan_workers.stages.run_files import torch_load

from s3gan.data.manifest import read_manifest
from s3gan.data.split_images import decoded_shard
from s3gan.data.storage import Location, open_location
from s3gan.methods.inferred_labels import InferredLabels
from s3gan.nn.resnet_v2 import ResNetV2
from s3gan.pretrain import (
    by_stable_index,
    infer_labels,
    inference_precision,
    label_quality,
    network_outputs,
)
from s3gan.spec.model import ExperimentSpec

NAME = "labels"
INPUTS = (pretrain.NAME,)
TABLE = "labels.npz"
OUTPUTS = "outputs"


def depends_on(spec: ExperimentSpec) -> dict:
    parts: dict = {"split": spec.dataset.train_split, "order": "streamed/1"}
    if spec.traits.pretraining == "rotation":
        parts |= {"clusters": spec.labels.clusters, "seed": spec.seeds.pretraining}
    else:
        parts |= {"pseudoLabels": spec.pseudo_labels, "evalSplit": spec.dataset.eval_split}
    return parts


class _NetworkOutputs:
    """An actor of the pool: F built and loaded once, then one shard per call."""

    def __init__(self, spec: ExperimentSpec, weights: str, run_uri: str, folder: str,
                 split: str):
        torch.set_num_threads(ray_train.threads(spec.resources.cpus_per_worker))
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.run = open_location(run_uri, spec.storage)
        # Read from the run's storage, not passed through the object store: Ray logs every
        # restartable actor whose constructor arguments live there at error level.
        self.f = ResNetV2.from_spec(spec, pretrain.f_classes(spec))
        self.f.load_state_dict(torch_load(self.run, weights))
        self.f.to(self.device).eval()
        self.precision = inference_precision(spec, self.device)
        self.spec, self.folder, self.split = spec, folder, split
        self.dataset = open_location(spec.dataset.uri, spec.storage)
        self.manifest = read_manifest(self.dataset)

    def __call__(self, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        shards = self.manifest.split_shards(self.split)
        names = []
        for position in rows["shard"].tolist():
            images, truth, index = decoded_shard(self.dataset, shards[position],
                                                 self.manifest.settings)
            chunk = torch.from_numpy(np.require(images, requirements="W"))
            output = torch.cat(list(network_outputs(self.f, lambda c=chunk: [c],
                                                    self.spec.traits.pretraining, self.device,
                                                    self.precision)))
            name = f"{self.folder}/{self.split}-{position:05d}.npz"
            buffer = io.BytesIO()
            np.savez(buffer, index=index, truth=truth, output=output.cpu().numpy())
            self.run.write_whole(name, buffer.getvalue())
            names.append(name)
        return {"name": np.array(names)}


def _write_outputs(context: StageContext, split: str, weights: str) -> list[str]:
    """F's outputs of every shard of ``split``, written by the actor pool; their file names in
    shard (stable-index) order."""
    return ray_session.off_the_driver(_pool_outputs, context.spec, weights, context.run.uri,
                                      f"{context.directory}/{OUTPUTS}", split)


def _pool_outputs(spec: ExperimentSpec, weights: str, run_uri: str, folder: str,
                  split: str) -> list[str]:
    shards = read_manifest(open_location(spec.dataset.uri, spec.storage)).split_shards(split)
    positions = ray.data.from_items([{"shard": i} for i in range(len(shards))],
                                    override_num_blocks=len(shards))
    written = positions.map_batches(
        _NetworkOutputs,
        fn_constructor_kwargs={"spec": spec, "weights": weights, "run_uri": run_uri,
                               "folder": folder, "split": split},
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=spec.resources.workers),
        num_cpus=spec.resources.cpus_per_worker,
        num_gpus=1 if spec.resources.accelerator.kind == "gpu" else 0,
    )
    return sorted(row["name"] for row in written.iter_rows())


def _read(run: Location, names: list[str], column: str):
    for name in names:
        with np.load(io.BytesIO(run.read_bytes(name))) as part:
            yield torch.from_numpy(part[column])


def run(context: StageContext) -> StageOutput:
    spec = context.spec
    objective, split = spec.traits.pretraining, spec.dataset.train_split
    weights = pretrain.feature_extractor_path(context)
    names = _write_outputs(context, split, weights)
    index = torch.cat(list(_read(context.run, names, "index")))
    truth = torch.cat(list(_read(context.run, names, "truth")))
    labels = infer_labels(lambda: _read(context.run, names, "output"), objective,
                          spec.dataset.num_classes, spec.labels.clusters, spec.seeds.pretraining,
                          soft=spec.pseudo_labels == "soft")
    quality = label_quality(labels, truth, objective)
    if objective == "s2l":
        quality["heldOutTop1"] = _held_out_top1(context, weights)
    table = by_stable_index(labels, index)
    context.run.write_whole(f"{context.directory}/{TABLE}", _npz(table))
    shown = ", ".join(f"{name} {value:.3f}" for name, value in quality.items())
    context.say(f"labels: {len(index)} images, {table.num_classes} classes; quality {shown}")
    return StageOutput({"images": len(index), "classes": table.num_classes, **quality}, (TABLE,))


def _held_out_top1(context: StageContext, weights: str) -> float:
    """c_S2L's top-1 accuracy on the held-out split (paper Table 3), streamed."""
    names = _write_outputs(context, context.spec.dataset.eval_split, weights)
    right = total = 0
    for logits, truth in zip(_read(context.run, names, "output"),
                             _read(context.run, names, "truth"), strict=True):
        right += int((logits.argmax(dim=1) == truth).sum())
        total += len(truth)
    return right / total


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
