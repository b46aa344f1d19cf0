"""Measures what pretraining F buys on Fashion-MNIST at 32×32, run by hand (minutes on a CPU).

Trains a small F (ResNet-50 v2 layout at depth 26, widening k) three ways on the same subset of
the train split: not at all (random F, the baseline), with rotation (eq. 1), and with S²L
(eq. 2) on a per-class labelled fraction. For each it prints the linear-probe accuracy on
frozen features (probe fitted on train images, scored on t10k images), and for S²L also c_S2L's
own accuracy on t10k; for rotation, k-means cluster labels scored against the classes. Every F
also gets a probe fitted on the labelled images only: with the same labels, that is what
rotation alone can infer, the fair comparison for S²L's c_S2L.

    python scripts/measure_pretraining.py [--train-images 4096] [--epochs 2] [--batch 64]
        [--runs random rotation s2l] [--threads N] ...
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from PIL import Image

from s3gan.data.idx import read_idx
from s3gan.data.masks import draw_labelled
from s3gan.data.preprocess import centre_crop_resize
from s3gan.methods.inferred_labels import InferredLabels
from s3gan.nn.resnet_v2 import ResNetV2
from s3gan.pretrain import (
    cluster_purity,
    fit_linear_probe,
    infer_labels,
    label_accuracy,
    matched_accuracy,
    network_outputs,
    pretrain,
)
from s3gan.pretrain.batches import mixed_batches, steps_per_epoch
from s3gan.pretrain.features import extract_features, in_chunks
from s3gan.spec.model import Pretraining

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
RESOLUTION = 32
NUM_CLASSES = 10


def load(root: str, split: str, count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` random images of ``split`` as uint8 [n, 3, 32, 32] (bicubic 28→32 as
    ``s3gan data convert`` stores them, grey copied to three channels) and their labels."""
    images, labels = read_idx(root, split)
    chosen = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:count]
    resized = np.stack([centre_crop_resize(Image.fromarray(images[i].numpy()), RESOLUTION, 1)
                        for i in chosen.tolist()])
    grey = torch.from_numpy(resized).permute(0, 3, 1, 2)
    return grey.expand(-1, 3, -1, -1).contiguous(), labels[chosen]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=FASHION_MNIST)
    parser.add_argument("--train-images", type=int, default=4096)
    parser.add_argument("--test-images", type=int, default=10000)
    parser.add_argument("--widening", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--base-learning-rate", type=float, default=0.1)
    parser.add_argument("--fraction", type=float, default=0.1, help="S²L labelled fraction")
    parser.add_argument("--gamma", type=float, default=0.5, help="γ of eq. 2 (paper: 0.5)")
    parser.add_argument("--augment", nargs="*", choices=("crop", "flip"), default=[],
                        help="pretraining.augment, e.g. --augment crop flip (default: none)")
    parser.add_argument("--clusters", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", nargs="+", choices=("random", "rotation", "s2l"),
                        default=["random", "rotation", "s2l"])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_x, train_y = load(args.root, "train", args.train_images, args.seed)
    test_x, test_y = load(args.root, "t10k", args.test_images, args.seed)
    labelled = torch.from_numpy(draw_labelled(train_y.numpy(), args.fraction, args.seed))
    # S²L keeps the paper's 3:1 split of a batch (B = 1536 of 2048) between unlabelled and
    # labelled images; rotation reads every image without its label.
    unlabelled_per_batch = args.batch * 3 // 4
    print(f"F: depth 26, k={args.widening}, {RESOLUTION}×{RESOLUTION}; {args.train_images} train "
          f"images ({int(labelled.sum())} labelled), {args.test_images} t10k images; batch "
          f"{args.batch}, {args.epochs} epochs, augment {args.augment or 'none'}, "
          f"{torch.get_num_threads()} threads", flush=True)

    def probes(f: ResNetV2) -> tuple[float, float]:
        """Probe accuracies on t10k: fitted on every train label (feature quality), and fitted
        on the labelled subset only (what a label-inference stage with that budget gets)."""
        train_features = extract_features(f, in_chunks(train_x, 512), "cpu")
        test_features = extract_features(f, in_chunks(test_x, 512), "cpu")
        every = fit_linear_probe(train_features, train_y, NUM_CLASSES)
        subset = fit_linear_probe(train_features[labelled], train_y[labelled], NUM_CLASSES)
        return every.accuracy(test_features, test_y), subset.accuracy(test_features, test_y)

    def report(name: str, f: ResNetV2, started: tuple[float, float]) -> None:
        every, subset = probes(f)
        wall, cpu = time.perf_counter() - started[0], time.process_time() - started[1]
        print(f"{name}: linear probe on t10k {every:.3f} (fitted on all train labels), "
              f"{subset:.3f} (fitted on the {int(labelled.sum())} labelled images only) "
              f"({wall:.0f} s wall, {cpu:.0f} s CPU)", flush=True)

    if "random" in args.runs:
        started = (time.perf_counter(), time.process_time())
        report("random F", ResNetV2(26, args.widening, RESOLUTION), started)

    for objective in [r for r in args.runs if r != "random"]:
        torch.manual_seed(args.seed)
        f = ResNetV2(26, args.widening, RESOLUTION, NUM_CLASSES if objective == "s2l" else None)
        mask = labelled if objective == "s2l" else torch.zeros_like(labelled)
        unlabelled = unlabelled_per_batch if objective == "s2l" else args.batch
        p = Pretraining(depth=26, widening=args.widening, epochs=args.epochs,
                        batch_size=args.batch, unlabelled_per_batch=unlabelled,
                        base_learning_rate=args.base_learning_rate, warmup_epochs=0,
                        augment=tuple(args.augment), gamma=args.gamma,
                        decay_epochs=(args.epochs - 1,) if args.epochs > 1 else ())
        steps = steps_per_epoch(int((~mask).sum()), unlabelled)
        batches = mixed_batches(train_x, train_y, mask, args.batch, unlabelled, args.seed)
        started = (time.perf_counter(), time.process_time())
        history = pretrain(f, objective, batches, p, steps, "cpu")
        quarter = max(1, steps // 4)
        before = np.mean([r.rotation for r in history[:quarter]])
        after = np.mean([r.rotation for r in history[-quarter:]])
        accuracy = np.mean([r.rotation_accuracy for r in history[-quarter:]])
        print(f"{objective}: {len(history)} steps, rotation loss {before:.3f} → {after:.3f}, "
              f"rotation accuracy {accuracy:.3f}", flush=True)
        if objective == "s2l":
            first = np.mean([r.classification for r in history[:quarter]])
            last = np.mean([r.classification for r in history[-quarter:]])
            print(f"s2l: class term (γ = {args.gamma}) {first:.3f} → {last:.3f}", flush=True)
        report(objective, f, started)
        if objective == "s2l":
            predicted = _labels(f, test_x, "s2l", 0, args.seed)
            accuracy = label_accuracy(predicted, test_y)
            seen = _labels(f, train_x[labelled], "s2l", 0, args.seed)
            print(f"s2l: c_S2L accuracy {accuracy:.3f} on t10k, "
                  f"{label_accuracy(seen, train_y[labelled]):.3f} on its labelled train images",
                  flush=True)
        else:
            clusters = _labels(f, train_x, "rotation", args.clusters, args.seed)
            purity = cluster_purity(clusters.table, train_y)
            matched = matched_accuracy(clusters.table, train_y)
            print(f"rotation + k-means (k={args.clusters}): purity {purity:.3f}, one-to-one "
                  f"matched accuracy {matched:.3f} on the train images", flush=True)


def _labels(f: ResNetV2, x: torch.Tensor, objective: str, clusters: int,
            seed: int) -> InferredLabels:
    return infer_labels(lambda: network_outputs(f, in_chunks(x, 2048), objective, "cpu"),
                        objective, NUM_CLASSES, clusters, seed, soft=False)


if __name__ == "__main__":
    main()
