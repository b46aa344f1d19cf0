"""FID evaluation time: ours (``s3gan.eval.evaluate``) against a bare torch-fidelity call.

Both sides score the same generated images (Fashion-MNIST test photos at 32×32, resized to 299
inside Inception) against real statistics cached beforehand (untimed), with the offline
Inception weights, on the CPU and with ``save_cpu_ram=True``. Each timed run is end to end: the
feature network is built, the cached real statistics are read, the samples are scored. Runs
alternate between the two sides so that load from other processes hits both alike; the
medians are compared. Target: ours ≤ 1.1× torch-fidelity.

    python -m benchmarks evaluation
    python -m benchmarks.evaluation --generated 500 --real 500 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from torch_fidelity import calculate_metrics

from s3gan.data.idx import read_idx
from s3gan.data.storage import open_location
from s3gan.eval import real_stats
from s3gan.eval.evaluate import evaluate
from s3gan.eval.features import inception_network
from s3gan.eval.inception_weights import OFFLINE, resolve
from s3gan.eval.real_stats import RealStatsKey

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
RESOLUTION = 32


class Images(Dataset):
    """uint8 images for torch-fidelity, one tensor per item."""

    def __init__(self, pool: torch.Tensor):
        self.pool = pool

    def __len__(self):
        return len(self.pool)

    def __getitem__(self, i):
        return self.pool[i]


def photos(start: int, n: int) -> torch.Tensor:
    grey, _ = read_idx(FASHION_MNIST, "t10k")
    if start + n > len(grey):
        raise SystemExit(f"only {len(grey)} Fashion-MNIST test images; asked for {start + n}")
    small = F.interpolate(grey[start:start + n, None].float(), size=RESOLUTION, mode="bilinear",
                          align_corners=False)
    return small.round().clamp(0, 255).to(torch.uint8).expand(-1, 3, -1, -1).contiguous()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generated", type=int, default=48)
    parser.add_argument("--real", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv if argv is not None else [])
    torch.manual_seed(0)
    work = Path(tempfile.mkdtemp(prefix="s3gan-bench-eval-"))
    weights = resolve(OFFLINE, work / "weights")
    reals, fakes = photos(0, args.real), photos(args.real, args.generated)
    unlabelled = [(reals, torch.full((args.real,), -1))]
    dataset = open_location(str(work / "dataset"))
    tf_cache = str(work / "torch-fidelity-cache")

    def ours() -> float:
        network = inception_network(weights)
        key = RealStatsKey("validation", network.identity, args.real)
        real = real_stats.cached(dataset, key, network, unlabelled)
        cursor = iter(torch.split(fakes, args.batch_size))
        return evaluate(lambda n: next(cursor), real, args.generated, 1, network,
                        args.batch_size).fid

    def bare(generated: torch.Tensor = fakes) -> float:
        return calculate_metrics(
            input1=Images(generated), input2=Images(reals), input2_cache_name="bench-real",
            fid=True, feature_extractor_weights_path=str(weights), cuda=False,
            batch_size=args.batch_size, save_cpu_ram=True, cache_root=tf_cache, verbose=False,
        )["frechet_inception_distance"]

    print(f"{args.generated} generated vs {args.real} real images at {RESOLUTION}×{RESOLUTION}, "
          f"{torch.get_num_threads()} threads; caching real statistics (untimed)", flush=True)
    network = inception_network(weights)
    real_stats.cached(dataset, RealStatsKey("validation", network.identity, args.real),
                      network, unlabelled)
    del network
    bare(reals[:2])  # torch-fidelity caches the statistics of input2 ("bench-real")

    # Wall time is what a user waits; CPU time of this process is less disturbed by others'.
    wall: dict[str, list[float]] = {"ours": [], "torch-fidelity": []}
    cpu: dict[str, list[float]] = {"ours": [], "torch-fidelity": []}
    fids: dict[str, float] = {}
    for repeat in range(args.repeats):
        order = (("ours", ours), ("torch-fidelity", bare))
        for name, run in order if repeat % 2 == 0 else order[::-1]:
            started, started_cpu = time.perf_counter(), time.process_time()
            fids[name] = run()
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
            print(f"  {name:15s} run {repeat + 1}: {wall[name][-1]:7.1f} s wall, "
                  f"{cpu[name][-1]:7.1f} s CPU  FID {fids[name]:.4f}", flush=True)
    for label, times in (("wall", wall), ("CPU", cpu)):
        ours_s, bare_s = (statistics.median(times[k]) for k in ("ours", "torch-fidelity"))
        print(f"median {label}: ours {ours_s:.1f} s, torch-fidelity {bare_s:.1f} s; "
              f"ratio ours/torch-fidelity {ours_s / bare_s:.3f} (target ≤ 1.1)")
    print(f"FID: ours {fids['ours']:.4f}, torch-fidelity {fids['torch-fidelity']:.4f}, "
          f"relative difference {abs(fids['ours'] / fids['torch-fidelity'] - 1):.2e}")


if __name__ == "__main__":
    main(sys.argv[1:])
