"""Peak memory of every data stage at N and 4N images: it must not grow with the dataset.

A synthetic ImageNet-layout tree (1,000 class folders, class by class as ImageNet lists them;
JPEGs of 100–160 px, i.e. about 128 px, one colour per class plus noise) is built at N and at
4N training images (plus N/10 and 4N/10 flat validation images with a labels file) and taken
through every stage a CLUSTERING run has before GAN training, each in a fresh process:

- convert — ``s3gan data convert`` (two worker processes) to 32 px JPEG shards;
- pretrain — the ``pretrain`` stage (Ray Train, one replica): rotation pretraining of F
  (ResNet-26 v2 ×1) for one epoch, streamed from the shards, and the linear probe;
- labels — the ``labels`` stage: F on a Ray Data actor pool over every shard, k-means
  (k = 50) streamed over the written outputs, the label table.

A sampler thread (benchmarks/support/process_tree.py) reads the stage's process and all its
descendants (Ray's raylet and the worker processes it starts) every 50 ms; printed per stage:
the driver's peak RSS, the largest peak of any other process (a worker) and the peak of their
sum, at N and 4N, with the ratio 4N / N (target ≤ 1.2). CPU time of the stage's process tree
is printed beside wall time.

    python -m benchmarks scale          (or: python -m benchmarks.scale --images N)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.support.process_tree import TreeSampler

CLASSES = 1000
RESOLUTION = 32  # the converter reads ~128 px JPEGs; F at 32 px keeps an epoch short on 2 cores
STAGES = ("convert", "pretrain", "labels")


def _tree(root: Path, images: int) -> Path:
    from s3gan.data.image_tree import synthetic_class_images, write_imagenet_tree

    per_class = max(1, images // CLASSES)
    train = synthetic_class_images(CLASSES, per_class, 0, (100, 160))
    held_out_images, held_out_labels = synthetic_class_images(CLASSES, 1, 1, (100, 160))
    keep = max(1, images // 10)
    validation = (list(held_out_images)[:keep], held_out_labels[:keep])
    return write_imagenet_tree(root, train, validation, [f"n{c:08d}" for c in range(CLASSES)],
                               "jpeg", None, quality=90)


def _experiment(dataset: Path, runs: Path) -> dict:
    return {
        "apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
        "metadata": {"name": "scale"},
        "spec": {
            "method": "clustering",
            "labels": {"clusters": 50},
            "dataset": {"uri": str(dataset), "resolution": RESOLUTION, "numClasses": CLASSES},
            "pretraining": {"depth": 26, "widening": 1, "epochs": 1, "batchSize": 32,
                            "unlabelledPerBatch": 32, "warmupEpochs": 0, "decayEpochs": []},
            "resources": {"workers": 1, "cpusPerWorker": 1.0, "memoryPerWorker": "4Gi"},
            "storage": {"runs": str(runs)},
        },
    }


def _run_stage(stage: str, workdir: Path) -> None:
    """In the stage's own process: one stage on an embedded Ray cluster (or the converter)."""
    if stage == "convert":
        from s3gan.cli.main import main

        code = main(["data", "convert", str(workdir / "tree"), str(workdir / "ds"),
                     "--resolution", str(RESOLUTION), "--encoding", "jpeg",
                     "--shard-size", "256", "--workers", "2"])
        sys.exit(code)
    from s3gan_workers import ray_session

    ray_session.embedded_on_loopback()  # before Ray is imported
    from s3gan_workers import pipeline
    from s3gan_workers.stages import labels, pretrain

    from s3gan.data.storage import open_location
    from s3gan.spec import load_experiment

    ray_session.connect(str(workdir / "ray"), num_cpus=2)
    experiment = load_experiment(str(workdir / "experiment.yaml"))
    chosen = (pretrain,) if stage == "pretrain" else (pretrain, labels)
    pipeline.run_pipeline(experiment, open_location(str(workdir / "runs" / "scale")),
                          stages=chosen, summary=None, say=lambda line: None)


def _measure(stage: str, workdir: Path) -> dict:
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "benchmarks.scale", "--stage", stage,
                              "--workdir", str(workdir)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    with TreeSampler(child.pid, interval=0.05) as sampler:
        _, errors = child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"stage {stage} failed ({child.returncode}):\n{errors[-3000:]}")
    usage = sampler.usage
    return {"driver": usage.root_peak, "worker": usage.descendant_peak,
            "total": usage.total_peak, "wall": time.perf_counter() - started,
            "cpu": usage.cpu_seconds}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000, help="N (default 1000)")
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv if argv is not None else [])
    if args.stage:
        _run_stage(args.stage, args.workdir)
        return
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for images in (args.images, 4 * args.images):
            workdir = Path(scratch) / str(images)
            _tree(workdir / "tree", images)
            (workdir / "experiment.yaml").write_text(yaml.safe_dump(
                _experiment(workdir / "ds", workdir / "runs")))
            for stage in STAGES:
                results[stage, images] = _measure(stage, workdir)
                r = results[stage, images]
                print(f"{stage:>8} at {images:>6} images: driver {r['driver'] / 2**20:7.0f} MiB,"
                      f" largest worker {r['worker'] / 2**20:7.0f} MiB, all "
                      f"{r['total'] / 2**20:7.0f} MiB; {r['wall']:.0f} s wall, "
                      f"{r['cpu']:.0f} s CPU", flush=True)
    n, big = args.images, 4 * args.images
    print(f"\npeak RSS, MiB: N = {n}, 4N = {big} images; ratio 4N / N (target ≤ 1.2)")
    print(f"{'stage':>8} {'what':>14} {'N':>8} {'4N':>8} {'ratio':>6}")
    for stage in STAGES:
        for what in ("driver", "worker", "total"):
            a, b = results[stage, n][what], results[stage, big][what]
            print(f"{stage:>8} {what:>14} {a / 2**20:8.0f} {b / 2**20:8.0f} "
                  f"{b / max(a, 1):6.2f}")
    print(json.dumps({f"{s}@{i}": r for (s, i), r in results.items()}))


if __name__ == "__main__":
    main(sys.argv[1:])
