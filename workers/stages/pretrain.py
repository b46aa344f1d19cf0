"""Stage ``pretrain``: the feature extractor F, data-parallel on Ray Train.

F is trained with the method's objective (``spec.traits.pretraining``): rotation, eq. 1, for
CLUSTERING; S²L, eq. 2, on the stored k% labelled mask, for S²GAN and S³GAN. Each replica streams
its share of every global batch from the shards (``s3gan.pretrain.batches.reader_batches``, the
batches ``s3gan pretrain`` trains on; paper section 4: B unlabelled + batch − B labelled
images), in micro-batches when ``pretraining.microBatch`` says so; gradients are averaged as
backward produces them and F's BatchNorms are cross-replica (statistics of all replicas'
micro-batches, as the paper synchronises BatchNorm across replicas), so the update is the
single-process update on the whole batch. Rank 0 then measures F with a linear probe, fitted
on a seeded random subset of the training images and scored on one of the held-out split, and
writes F's weights.
"""

from __future__ import annotations

import json

import torch
from ray.train.torch import TorchTrainer
from s3gan_workers.stages import ray_train
from s3gan_workers.stages.context import StageContext, StageOutput
from s3gan_workers.stages.replicas import average_gradients_after_backward
from s3gan_workers.stages.run_files import torch_bytes

from s3gan.data.batch import Batch
from s3gan.data.manifest import read_manifest
from s3gan.data.reader import TrainingReader
from s3gan.data.storage import open_location
from s3gan.monitor.progress import ProgressLine
from s3gan.nn.cross_replica_bn import cross_replica_batch_norms, replica_local
from s3gan.nn.resnet_v2 import ResNetV2
from s3gan.pretrain import fit_linear_probe, pretrain
from s3gan.pretrain.batches import reader_batches
from s3gan.pretrain.features import extract_features, in_chunks
from s3gan.pretrain.schedule import total_steps
from s3gan.spec.model import ExperimentSpec
from s3gan.train.precision import decided, slow_cpu_bf16

NAME = "pretrain"
INPUTS: tuple[str, ...] = ()
FEATURE_EXTRACTOR = "feature_extractor.pt"
RESULTS = "results.json"
# Linear-probe images per side (train features to fit, held-out features to score): enough for
# a stable accuracy, small enough to stay a fraction of pretraining's cost.
PROBE_IMAGES = 2_000


def depends_on(spec: ExperimentSpec) -> dict:
    objective = spec.traits.pretraining
    parts = {"objective": objective, "pretraining": spec.pretraining, "dataset": spec.dataset,
             "seed": spec.seeds.pretraining, "workers": spec.resources.workers}
    if objective == "s2l":
        parts |= {"fraction": spec.labels.fraction, "maskSeed": spec.seeds.mask}
    return parts


def f_classes(spec: ExperimentSpec) -> int | None:
    """c_S2L's classes when F is trained with eq. 2, else None (no class head)."""
    return spec.dataset.num_classes if spec.traits.pretraining == "s2l" else None


def run(context: StageContext) -> StageOutput:
    job = {"spec": context.spec, "run_uri": context.run.uri, "directory": context.directory}
    TorchTrainer(
        _worker,
        train_loop_config=job,
        scaling_config=ray_train.scaling_config(context.spec),
        torch_config=ray_train.torch_config(context.spec),
        run_config=ray_train.run_config(context.run, context.directory, NAME),
    ).fit()
    results = json.loads(context.run.read_bytes(f"{context.directory}/{RESULTS}"))
    context.say(f"pretrain: linear probe {results['probeAccuracy']:.3f} on "
                f"{results['probeImages']} held-out images")
    return StageOutput(results, (FEATURE_EXTRACTOR, RESULTS))


def _worker(job: dict) -> None:
    spec: ExperimentSpec = job["spec"]
    replica = ray_train.start_replica(spec)
    rank, world, device = replica.rank, replica.world, replica.device
    objective, p = spec.traits.pretraining, spec.pretraining
    batches, per_epoch = reader_batches(spec, rank, world)
    torch.manual_seed(spec.seeds.pretraining)  # the same initial F on every replica
    f = cross_replica_batch_norms(ResNetV2.from_spec(spec, f_classes(spec)))
    average_gradients_after_backward(f)
    total = total_steps(p, per_epoch)
    line = ProgressLine(f"pretrain F ({objective}, {p.epochs:g} epochs of {per_epoch} steps)",
                        total, "steps")
    precision = decided(p.precision, spec.resources.accelerator.kind, device)
    if rank == 0 and slow_cpu_bf16(precision, device):
        print("pretrain: pretraining.precision bf16 on a CPU without native bf16 (AVX512-BF16 or "
              "AMX) is emulated and slower than fp32", flush=True)

    def progress(record) -> None:
        if rank == 0:
            line.advance(record.step + 1)

    history = pretrain(f, objective, batches, p, per_epoch, device, progress)
    if rank == 0:
        print(f"pretrain: final loss {history[-1].loss:.4f}, rotation accuracy "
              f"{history[-1].rotation_accuracy:.3f}", flush=True)
    if rank != 0:
        return
    with replica_local(f):  # rank 0 alone from here on
        accuracy, n = _probe(spec, f, device)
    run = open_location(job["run_uri"], spec.storage)
    run.write_whole(f"{job['directory']}/{FEATURE_EXTRACTOR}", torch_bytes(f.cpu().state_dict()))
    results = {"objective": objective, "steps": len(history), "stepsPerEpoch": per_epoch,
               "finalLoss": history[-1].loss,
               "rotationAccuracy": history[-1].rotation_accuracy,
               "probeAccuracy": accuracy, "probeImages": n}
    run.write_whole(f"{job['directory']}/{RESULTS}", json.dumps(results).encode())


def _probe(spec: ExperimentSpec, f: ResNetV2, device) -> tuple[float, int]:
    """Linear-probe accuracy on ``n`` held-out images after fitting on ``n`` training images,
    each a seeded random subset of its split (the first N would be a few classes)."""
    counts = read_manifest(open_location(spec.dataset.uri, spec.storage)).counts
    split, held_out = spec.dataset.train_split, spec.dataset.eval_split
    n = min(PROBE_IMAGES, counts[split], counts[held_out])

    def subset(name: str) -> Batch:
        reader = TrainingReader(spec.dataset.uri, name, n, spec.seeds.pretraining,
                                storage=spec.storage)
        return next(iter(reader))

    train, test = subset(split), subset(held_out)
    probe = fit_linear_probe(extract_features(f, in_chunks(train.images), device),
                             train.labels, spec.dataset.num_classes)
    return probe.accuracy(extract_features(f, in_chunks(test.images), device), test.labels), n


def feature_extractor_path(context: StageContext) -> str:
    """Where, in the run, the pretrain stage this context reads from left F's weights."""
    return f"{context.inputs[NAME].directory}/{FEATURE_EXTRACTOR}"

