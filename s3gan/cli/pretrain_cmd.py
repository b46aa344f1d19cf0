"""`s3gan pretrain FILE --run-dir DIR`: pretrain F in one process, then label the train split.

The objective follows the method: rotation (eq. 1) for CLUSTERING, S²L (eq. 2) on the stored
k% mask for S²GAN and S³GAN. Batches come from ``s3gan data convert``'s shards: for S²L,
``unlabelledPerBatch`` images from the whole split plus the rest from the labelled mask. After
training, every train image is labelled (k-means on F's features, or c_S2L) and one checkpoint
``DIR/pretraining/step-<N>/`` holds F's weights (``f.pt``) and the labels (``labels.pt``:
``{"table": hard int64 [N] or soft float [N, C], "num_classes": C}``, row i = stable index i).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROGRESS_LINES = 20  # progress lines over a whole run


def register(commands: argparse._SubParsersAction) -> None:
    pretrain = commands.add_parser(
        "pretrain", help="pretrain the feature extractor F and label the train split"
    )
    pretrain.add_argument("file", metavar="FILE", help="S3GANExperiment YAML file")
    pretrain.add_argument("--run-dir", required=True, type=Path, metavar="DIR",
                          help="where F and the inferred labels go (DIR/pretraining/)")
    pretrain.add_argument("--device", default=None,
                          help="torch device (default: cuda when available, else cpu)")
    pretrain.set_defaults(run=_pretrain)


def _pretrain(args: argparse.Namespace) -> int:
    from s3gan.cli.experiment_file import USAGE_ERROR, read_experiment

    experiment = read_experiment(args.file)
    if experiment is None:
        return USAGE_ERROR
    spec = experiment.spec
    if spec.traits.pretraining is None:
        print(f"{args.file}: method {spec.method.value} uses no pretrained feature extractor "
              "(only clustering, clustering-ss, s2gan and s3gan do)", file=sys.stderr)
        return 2
    return _run(spec, args.run_dir, args.device)


def _run(spec, run_dir: Path, device_name: str | None) -> int:
    import torch

    from s3gan.kmeans import MiniBatchKMeans
    from s3gan.nn.resnet_v2 import ResNetV2
    from s3gan.pretrain import (
        cluster_purity,
        infer_cluster_labels,
        infer_s2l_labels,
        label_accuracy,
        matched_accuracy,
        pretrain,
    )
    from s3gan.train.checkpoint import CheckpointStore

    device = torch.device(device_name or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(spec.seeds.pretraining)
    objective = spec.traits.pretraining
    p = spec.pretraining
    batches, steps_per_epoch = _batches(spec, objective)
    f = ResNetV2.from_spec(spec, spec.dataset.num_classes if objective == "s2l" else None)
    total = p.epochs * steps_per_epoch
    print(f"{spec.method.value}: F = ResNet-{p.depth} v2 ×{p.widening} "
          f"({f.trunk_parameters() / 1e6:.2f}M parameters, {f.feature_dim}-d), objective "
          f"{objective}, {total} steps of {p.batch_size} on {device}", flush=True)

    def progress(record) -> None:
        if (record.step + 1) % max(1, total // PROGRESS_LINES) == 0 or record.step + 1 == total:
            extra = "" if record.classification is None else f"  class {record.classification:.4f}"
            print(f"step {record.step + 1}/{total}  lr {record.learning_rate:.4f}  "
                  f"rotation {record.rotation:.4f} (acc {record.rotation_accuracy:.3f}){extra}",
                  flush=True)

    pretrain(f, objective, batches, p, steps_per_epoch, device, progress)
    images, truth = _split_in_index_order(spec)
    if objective == "s2l":
        labels = infer_s2l_labels(f, images, spec.pseudo_labels == "soft", device)
        print(f"c_S2L labels: accuracy {label_accuracy(labels, truth):.4f} on the train split")
    else:
        kmeans = MiniBatchKMeans(spec.labels.clusters, seed=spec.seeds.pretraining)
        labels = infer_cluster_labels(f, images, kmeans, device)
        print(f"k-means labels (k={kmeans.k}): purity {cluster_purity(labels.table, truth):.4f}, "
              f"one-to-one matched accuracy {matched_accuracy(labels.table, truth):.4f}")
    saved = CheckpointStore(run_dir / "pretraining", keep=1).save(total, {
        "f": f.state_dict(),
        "labels": {"table": labels.table, "num_classes": labels.num_classes},
    })
    print(f"F and labels: {saved.path}", flush=True)
    return 0


def _batches(spec, objective: str):
    """Endless pretraining batches and the steps in an epoch (one pass of the unlabelled reads)."""
    import torch

    from s3gan.data.batch import Batch
    from s3gan.data.reader import TrainingReader

    p, split, seed = spec.pretraining, spec.dataset.train_split, spec.seeds.pretraining
    if objective == "rotation":
        reader = TrainingReader(spec.dataset.uri, split, p.batch_size, seed, storage=spec.storage)
        return iter(reader), reader.steps_per_epoch
    mask = (spec.labels.fraction, spec.seeds.mask)
    unlabelled = TrainingReader(spec.dataset.uri, split, p.unlabelled_per_batch, seed,
                                mask=mask, storage=spec.storage)
    if p.batch_size == p.unlabelled_per_batch:
        return iter(unlabelled), unlabelled.steps_per_epoch
    labelled = TrainingReader(spec.dataset.uri, split, p.batch_size - p.unlabelled_per_batch,
                              seed + 1, labelled_only=True, mask=mask, storage=spec.storage)

    def mix(a: Batch, b: Batch) -> Batch:
        return Batch(torch.cat([a.images, b.images]), torch.cat([a.labels, b.labels]),
                     torch.cat([a.index, b.index]), torch.cat([a.labelled, b.labelled]))

    # Both readers cycle epoch after epoch: the pair never runs out.
    mixed = (mix(a, b) for a, b in zip(unlabelled, labelled, strict=False))
    return mixed, unlabelled.steps_per_epoch


def _split_in_index_order(spec):
    """The train split's images as ImageChunks (one chunk per shard) and its labels."""
    import torch

    from s3gan.data.manifest import read_manifest, read_verified_shard
    from s3gan.data.shards import decode_images, read_columns
    from s3gan.data.storage import open_location

    location = open_location(spec.dataset.uri, spec.storage)
    manifest = read_manifest(location)
    shards = manifest.split_shards(spec.dataset.train_split)
    s = manifest.settings

    def read(shard, columns):
        return read_columns(read_verified_shard(location, shard), columns)

    index = torch.cat([torch.tensor(read(sh, ["index"])["index"].to_numpy()) for sh in shards])
    if not torch.equal(index, torch.arange(len(index))):
        raise ValueError(f"{spec.dataset.uri}: split {spec.dataset.train_split} skips stable "
                         "indices; labels are stored by index and need every image")
    truth = torch.cat([torch.tensor(read(sh, ["label"])["label"].to_numpy()) for sh in shards])

    def chunks():
        for shard in shards:
            payloads = read(shard, ["image"])["image"].combine_chunks()
            images = decode_images(payloads, s.encoding, s.resolution, s.channels)
            yield torch.from_numpy(images.copy())  # a writable copy of the shard's buffer

    return chunks, truth
