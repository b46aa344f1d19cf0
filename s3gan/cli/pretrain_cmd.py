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

    from s3gan.nn.resnet_v2 import ResNetV2
    from s3gan.pretrain import pretrain
    from s3gan.pretrain.batches import reader_batches
    from s3gan.pretrain.schedule import total_steps
    from s3gan.train.checkpoint import CheckpointStore

    device = torch.device(device_name or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(spec.seeds.pretraining)
    objective = spec.traits.pretraining
    p = spec.pretraining
    batches, steps_per_epoch = reader_batches(spec)
    f = ResNetV2.from_spec(spec, spec.dataset.num_classes if objective == "s2l" else None)
    total = total_steps(p, steps_per_epoch)
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
    labels, shown = _label_train_split(spec, f, device)
    print(shown, flush=True)
    if objective == "s2l":
        print(_held_out_top1(spec, f, device), flush=True)
    saved = CheckpointStore(run_dir / "pretraining", keep=1).save(total, {
        "f": f.state_dict(),
        "labels": {"table": labels.table, "num_classes": labels.num_classes},
    })
    print(f"F and labels: {saved.path}", flush=True)
    return 0


def _label_train_split(spec, f, device):
    """The train split's labels by stable index, as the ``labels`` stage infers them (the same
    ``infer_labels`` on the same F outputs, shard by shard in index order), and a line on their
    quality."""
    import torch

    from s3gan.data.manifest import read_manifest
    from s3gan.data.masks import split_labels
    from s3gan.data.storage import open_location
    from s3gan.pretrain import (
        by_stable_index,
        infer_labels,
        inference_precision,
        label_quality,
        network_outputs,
    )

    location = open_location(spec.dataset.uri, spec.storage)
    split, objective = spec.dataset.train_split, spec.traits.pretraining
    index, truth = (torch.from_numpy(a) for a in split_labels(location, read_manifest(location),
                                                               split))

    def outputs():
        return network_outputs(f, lambda: _image_chunks(location, split), objective, device,
                               inference_precision(spec, device))

    labels = infer_labels(outputs, objective, spec.dataset.num_classes, spec.labels.clusters,
                          spec.seeds.pretraining, soft=spec.pseudo_labels == "soft")
    quality = label_quality(labels, truth, objective)
    shown = ", ".join(f"{name} {value:.4f}" for name, value in quality.items())
    what = "c_S2L" if objective == "s2l" else f"k-means (k={spec.labels.clusters})"
    return by_stable_index(labels, index), f"{what} labels on the train split: {shown}"


def _image_chunks(location, split):
    import torch

    from s3gan.data.split_images import shard_images

    for images, _, _ in shard_images(location, split):
        yield torch.from_numpy(images.copy())  # a writable copy of the shard's buffer


def _held_out_top1(spec, f, device) -> str:
    """c_S2L's top-1 accuracy on the held-out split (paper Table 3)."""
    import numpy as np

    from s3gan.data.manifest import read_manifest
    from s3gan.data.masks import split_labels
    from s3gan.data.storage import open_location
    from s3gan.pretrain import inference_precision, network_outputs

    location = open_location(spec.dataset.uri, spec.storage)
    split = spec.dataset.eval_split
    _, truth = split_labels(location, read_manifest(location), split)
    predicted = np.concatenate([c.argmax(dim=1).cpu().numpy() for c in network_outputs(
        f, lambda: _image_chunks(location, split), "s2l", device,
        inference_precision(spec, device))])
    top1 = float((predicted == truth).mean())
    return f"c_S2L top-1 on the held-out split ({len(truth)} images): {top1:.4f}"
