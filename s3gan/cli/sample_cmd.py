"""`s3gan sample` and `s3gan export`: the trained generator as pictures, and as a package.

``s3gan sample CHECKPOINT_OR_RUN_DIR --out DIR [--classes C ...] [--truncation T]
[--interpolate]`` writes ``classes.png`` (one row per class), ``class-<C>.png`` (a grid of one
class each) and, with ``--interpolate``, ``interpolation.png`` (one row per class, the same
latent path z_a → z_b in every row).

``s3gan export RUN_DIR --out DIR [--scores FILE]`` writes the evaluated generator as a
``torch.export`` program, a plain state dict and a model card (``s3gan.eval.export``).

A run directory (the one ``s3gan run`` prints, or an ``s3gan train`` one) resolves to the
checkpoint its evaluate stage scored, else its newest verified one; the experiment is the run's
``experiment.yaml`` unless ``--experiment`` names one. ``--scores`` must be of the checkpoint's
own G step: a card never claims another checkpoint's score.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    sample = commands.add_parser(
        "sample", help="draw per-class grids and latent interpolations from a trained generator")
    sample.add_argument("source", metavar="CHECKPOINT_OR_RUN_DIR", type=Path)
    _common(sample)
    sample.add_argument("--classes", type=int, nargs="+", metavar="C",
                        help="class indices (default: up to ten spread over all classes)")
    sample.add_argument("--per-class", type=int, default=16, metavar="N",
                        help="samples per class (default 16)")
    sample.add_argument("--truncation", type=float, metavar="T",
                        help="resample |z| > T (default: the spec's evaluation.truncation)")
    sample.add_argument("--interpolate", action="store_true",
                        help="also draw latent interpolations, one row per class")
    sample.add_argument("--frames", type=int, default=8, metavar="N",
                        help="images per interpolation row (default 8)")
    sample.add_argument("--seed", type=int, default=0, help="seed of the latents (default 0)")
    sample.set_defaults(run=_sample)

    export = commands.add_parser(
        "export", help="package the EMA generator and a model card; loads with torch alone")
    export.add_argument("source", metavar="RUN_DIR", type=Path)
    _common(export)
    export.add_argument("--scores", type=Path, metavar="FILE",
                        help="the checkpoint's evaluation record (JSON, with its G step) for the "
                        "model card (default: the evaluate stage's, when it scored it)")
    export.set_defaults(run=_export)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, metavar="DIR")
    parser.add_argument("--experiment", type=Path, metavar="FILE",
                        help="the experiment the checkpoint was trained from "
                        "(default: RUN_DIR/experiment.yaml)")
    parser.add_argument("--standing-samples", type=int, metavar="N",
                        help="samples for standing BatchNorm statistics "
                        "(default: the spec's evaluation.standingStatsSamples)")


def _positive(args: argparse.Namespace, *names: str) -> str | None:
    for name in names:
        value = getattr(args, name)
        if value is not None and value <= 0:
            return f"--{name.replace('_', '-')} must be positive, got {value}"
    return None


def _sample(args: argparse.Namespace) -> int:
    problem = _positive(args, "per_class", "frames", "truncation", "standing_samples")
    if problem:
        print(problem, file=sys.stderr)
        return 2
    import torch

    from s3gan.eval.export import evaluated_generator, find_run
    from s3gan.eval.interpolation import interpolation_rows
    from s3gan.eval.sampling import class_rows, grid_classes, save_class_grid
    from s3gan.spec import SpecError

    try:
        run = find_run(args.source, args.experiment)
        generator = evaluated_generator(run, standing_samples=args.standing_samples)
    except (FileNotFoundError, SpecError, ValueError, RuntimeError) as e:
        print(e, file=sys.stderr)
        return 2
    num_classes = generator.shared.num_embeddings
    classes = args.classes or grid_classes(num_classes)
    outside = [c for c in classes if not 0 <= c < num_classes]
    if outside:
        print(f"--classes {outside}: this generator has classes 0..{num_classes - 1}",
              file=sys.stderr)
        return 2
    model = run.spec.model
    truncation = args.truncation or run.spec.evaluation.truncation
    rng = torch.Generator().manual_seed(args.seed)
    images = class_rows(generator, classes, args.per_class, model.z_dim, model.output_range,
                        truncation, rng)
    written = [save_class_grid(images, args.per_class, args.out / "classes.png")]
    side = math.ceil(math.sqrt(args.per_class))
    for row, c in enumerate(classes):
        mine = images[row * args.per_class:(row + 1) * args.per_class]
        written.append(save_class_grid(mine, side, args.out / f"class-{c}.png"))
    if args.interpolate:
        strips = interpolation_rows(generator, classes, args.frames, model.z_dim,
                                    model.output_range, truncation, rng)
        written.append(save_class_grid(strips, args.frames, args.out / "interpolation.png"))
    print(f"G step {run.step} from {run.checkpoint}: "
          + ", ".join(str(p) for p in written), flush=True)
    return 0


def _export(args: argparse.Namespace) -> int:
    problem = _positive(args, "standing_samples")
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from s3gan.eval.export import export_generator, find_run
    from s3gan.spec import SpecError

    try:
        scores = json.loads(args.scores.read_text()) if args.scores else None
    except (OSError, ValueError) as e:
        print(f"{args.scores}: not a readable evaluation record ({e})", file=sys.stderr)
        return 2
    try:
        run = find_run(args.source, args.experiment)
        card = export_generator(run, args.out, scores, args.standing_samples)
    except (FileNotFoundError, SpecError, ValueError, RuntimeError) as e:
        print(e, file=sys.stderr)
        return 2
    scores = card["evaluation"]
    fid = (f"FID {scores['fid']:.2f} of the evaluate stage" if scores
           else "FID not measured for this checkpoint")
    print(f"exported G step {run.step} from {run.checkpoint} to {args.out} ({fid})", flush=True)
    return 0
