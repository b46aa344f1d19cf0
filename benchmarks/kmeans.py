"""Mini-batch k-means: ``s3gan.kmeans`` against scikit-learn's ``MiniBatchKMeans``.

Both fit the same features (Gaussian blobs standing in for F's features) with the same k and
mini-batch size; ours streams the rows as chunks, scikit-learn holds the whole array. Printed:
wall time of fit + assign and the final inertia, ours as ratios of scikit-learn's (time < 1 is
faster; inertia ≈ 1 is equal quality). Time is best of ``--repeats``.

    python -m benchmarks kmeans [--rows 50000] [--dim 512] [--k 50] [--device cuda]
"""

from __future__ import annotations

import argparse
import time

import torch

from s3gan.kmeans import CHUNK_ROWS, SAMPLE_EPOCHS, SAMPLE_ROWS, cluster


def _features(rows: int, dim: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    centres = torch.randn(100, dim, generator=generator) * 3
    members = torch.randint(100, (rows,), generator=generator)
    return centres[members] + torch.randn(rows, dim, generator=generator)


def main(argv: list[str] | None = None) -> None:
    from sklearn.cluster import MiniBatchKMeans as SklearnMiniBatchKMeans

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv if argv is not None else [])
    x = _features(args.rows, args.dim, seed=0)
    on_device = x.to(args.device)
    array = x.numpy()

    # Ours: SAMPLE_EPOCHS over the sample plus one streaming pass; scikit-learn gets as many
    # rows of updates (max_iter counts passes over the data; no early stop).
    updates = SAMPLE_EPOCHS * min(SAMPLE_ROWS, args.rows) + args.rows
    passes = max(1, round(updates / args.rows))

    def ours() -> float:
        kmeans, _ = cluster(lambda: on_device.split(CHUNK_ROWS), args.k, seed=0,
                            batch_size=args.batch_size)
        return kmeans.inertia(on_device.split(CHUNK_ROWS))

    def theirs() -> float:
        kmeans = SklearnMiniBatchKMeans(args.k, batch_size=args.batch_size, random_state=0,
                                        n_init=1, max_iter=passes, tol=0.0,
                                        max_no_improvement=None)
        kmeans.fit(array)
        kmeans.predict(array)
        return -kmeans.score(array)

    results = {}
    for name, run in (("scikit-learn", theirs), ("s3gan.kmeans", ours)):
        times, inertia = [], None
        for _ in range(args.repeats):
            started = time.perf_counter()
            inertia = run()
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            times.append(time.perf_counter() - started)
        results[name] = (min(times), inertia)
        print(f"{name:>13}: {min(times):7.2f} s  inertia {inertia:.4g}", flush=True)
    base_time, base_inertia = results["scikit-learn"]
    time_ours, inertia_ours = results["s3gan.kmeans"]
    print(f"{args.rows}×{args.dim}, k={args.k}, {updates} rows of updates on {args.device}: "
          f"time ratio {time_ours / base_time:.2f}, inertia ratio "
          f"{inertia_ours / base_inertia:.4f} (ours / scikit-learn)")
