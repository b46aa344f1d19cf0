"""What intra-class FID (``s3gan.eval.intra_fid``) can tell apart at a few images per class.

Fashion-MNIST test photos at 32×32 through the offline Inception: the first 2n of each class,
split into two halves of n. Printed: the intra-FID of one half against the other (a generator
that draws every class perfectly scores this floor: the small-sample bias), the same with the
second half's labels shuffled (perfect images, labels ignored), the overall FID of the two
halves, and the CPU time of the per-class FIDs (Inception itself costs about 0.3 s of CPU per
image here).

    python -m benchmarks intra_fid
    python -m benchmarks.intra_fid --per-class 50
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from s3gan.data.idx import read_idx
from s3gan.eval.features import inception_network
from s3gan.eval.fid import frechet_distance, statistics
from s3gan.eval.inception_weights import OFFLINE, resolve
from s3gan.eval.intra_fid import intra_class_fid

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
CLASSES = 10


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=100)
    n = parser.parse_args(argv if argv is not None else []).per_class
    grey, labels = read_idx(FASHION_MNIST, "t10k")
    labels = torch.as_tensor(labels, dtype=torch.int64)
    chosen = torch.cat([torch.nonzero(labels == c).flatten()[:2 * n] for c in range(CLASSES)])
    small = F.interpolate(grey[chosen, None].float(), size=32, mode="bilinear",
                          align_corners=False)
    images = small.round().clamp(0, 255).to(torch.uint8).repeat(1, 3, 1, 1)
    y = labels[chosen]
    network = inception_network(resolve(OFFLINE, Path(tempfile.gettempdir()) / "s3gan-weights"))
    started = time.process_time()
    features = network.features(images.split(100))[network.fid_layer].float()
    print(f"Inception over {len(y)} images: {time.process_time() - started:.1f} s CPU, "
          f"{torch.get_num_threads()} threads", flush=True)
    first = (torch.arange(len(y)) % (2 * n)) < n  # the first n of each class
    a, b = features[first], features[~first]
    started = time.process_time()
    floor = intra_class_fid(a, y[first], b, y[~first], CLASSES)
    seconds = time.process_time() - started
    shuffled = y[~first][torch.randperm(len(b), generator=torch.Generator().manual_seed(0))]
    ignored = intra_class_fid(a, y[first], b, shuffled, CLASSES)
    overall = frechet_distance(statistics(a), statistics(b))
    print(f"{n} real images per class on each side: intra-class FID {floor.score:.2f} "
          f"(classes {min(floor.per_class):.1f}–{max(floor.per_class):.1f}); with the labels "
          f"shuffled {ignored.score:.2f}; overall FID of the same {len(a)} vs {len(b)} images "
          f"{overall:.2f}; per-class FIDs {seconds:.1f} s CPU ({seconds / CLASSES:.1f} s a class)")


if __name__ == "__main__":
    main(sys.argv[1:])
