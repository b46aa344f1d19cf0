"""`s3gan train FILE --run-dir DIR [--steps N]`: single-process GAN training (CPU or one GPU).

Resumes from the newest verified checkpoint in ``DIR/checkpoints``, prints a progress line every
``training.logEverySteps`` G steps, checkpoints on ``training.checkpoint``'s schedule, on
SIGTERM (then stops) and at the end, watches for collapse (rolling back when
``training.collapse.rollback`` is on, ``s3gan.train.rollback``), and writes a grid of the
evaluation generator's samples (one row per class) next to every checkpoint, as
``DIR/samples/step-<N>.png``, and the experiment file as ``DIR/experiment.yaml``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train", help="train a GAN from an experiment file in one process (CPU or one GPU)"
    )
    train.add_argument("file", metavar="FILE", help="S3GANExperiment YAML file")
    train.add_argument("--run-dir", required=True, type=Path, metavar="DIR",
                       help="where checkpoints and sample grids go; resumed from if present")
    train.add_argument("--steps", type=int, metavar="N",
                       help="train up to G step N (default: the spec's training.steps)")
    train.add_argument("--device", default=None,
                       help="torch device (default: cuda when available, else cpu)")
    train.set_defaults(run=_train)


def _train(args: argparse.Namespace) -> int:
    from s3gan.cli.experiment_file import USAGE_ERROR, read_experiment

    experiment = read_experiment(args.file, with_dataset=True)
    if experiment is None:
        return USAGE_ERROR
    spec = experiment.spec
    if spec.traits.pretraining is not None:
        print(f"{args.file}: method {spec.method.value} labels the reals with a pretrained "
              f"feature extractor ({spec.traits.pretraining}); `s3gan train` runs the methods "
              "that need none — run the whole pipeline with `s3gan run`", file=sys.stderr)
        return 2
    steps = args.steps or spec.training.steps
    if steps < 1:
        print(f"--steps must be at least 1, got {steps}", file=sys.stderr)
        return 2
    args.run_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.file, args.run_dir / "experiment.yaml")  # for `s3gan sample`, `export`
    return _run(spec, args.run_dir, steps, args.device)


def _run(spec, run_dir: Path, steps: int, device_name: str | None) -> int:
    import torch

    from s3gan.data.reader import TrainingReader
    from s3gan.eval.sampling import class_rows, grid_classes, save_class_grid
    from s3gan.methods import build_method
    from s3gan.monitor.progress import RateMeter
    from s3gan.train.checkpoint import CheckpointStore, load
    from s3gan.train.preemption import PreemptibleSchedule
    from s3gan.train.retention import Retention
    from s3gan.train.rollback import CollapseError, CollapseGuard
    from s3gan.train.step import NonFiniteLossError
    from s3gan.train.trainer import Trainer

    device = torch.device(device_name or ("cuda" if torch.cuda.is_available() else "cpu"))
    retention = Retention(run_dir / "checkpoints")
    store = CheckpointStore(run_dir / "checkpoints", spec.training.checkpoint.keep,
                            protected=retention.protected)
    latest = store.latest()
    state = load(latest.path) if latest is not None else None
    start = state["progress"]["batches_consumed"] if state is not None else 0
    method = build_method(spec)
    mask = (spec.labels.fraction, spec.seeds.mask) if spec.traits.uses_labelled_subset else None
    reader = TrainingReader(spec.dataset.uri, spec.dataset.train_split, spec.micro_batch,
                            spec.seeds.gan, labelled_only=method.reads_only_labelled,
                            mask=mask, start_step=start, storage=spec.storage)
    trainer = Trainer(spec, method, iter(reader), device)
    if state is not None:
        trainer.load_state_dict(state)
        print(f"resumed from {latest.path} (G step {trainer.step})", flush=True)
    if trainer.step >= steps:
        print(f"already at G step {trainer.step} ≥ {steps}: nothing to train", flush=True)
        return 0
    guard = CollapseGuard(trainer, store, retention)

    def checkpoint() -> None:
        saved = store.save(trainer.step, trainer.state_dict())
        guard.after_checkpoint(trainer.step)
        classes = grid_classes(method.num_classes)
        images = class_rows(trainer.evaluation_generator(), classes, 10, spec.model.z_dim,
                            spec.model.output_range, spec.evaluation.truncation,
                            torch.Generator(device).manual_seed(spec.seeds.gan))
        grid = save_class_grid(images, 10, run_dir / "samples" / f"step-{trainer.step:09d}.png")
        print(f"checkpoint {saved.path}, samples {grid}", flush=True)

    print(f"{spec.method.value}: G {_millions(trainer.generator)}M, "
          f"D {_millions(trainer.discriminator)}M parameters, {trainer.images_per_step} real "
          f"images per G step, on {device}; G steps {trainer.step} → {steps}", flush=True)
    schedule = PreemptibleSchedule(spec.training.checkpoint)
    meter = RateMeter(steps, start=trainer.step)
    try:
        with schedule.catching_sigterm():
            while trainer.step < steps:
                terms = trainer.train_step()
                guard.after_step(terms)  # may roll back to the last known-good checkpoint
                meter.update(trainer.step)
                if trainer.step % spec.training.log_every_steps == 0 or trainer.step == steps:
                    losses = "  ".join(f"{name} {value:.4f}" for name, value in terms.items())
                    print(f"step {trainer.step}/{steps}  {losses}  "
                          f"{meter.pace('img', trainer.images_per_step)}", flush=True)
                if trainer.step < steps and schedule.due(trainer.step):
                    checkpoint()
                    schedule.saved()
                    if schedule.terminating:
                        print(f"SIGTERM: saved G step {trainer.step}, stopping", flush=True)
                        return 128 + 15
    except NonFiniteLossError as e:
        last = store.latest()
        print(f"stopped: {e}. Last good checkpoint: {last.path if last else 'none'}",
              file=sys.stderr)
        return 3
    except CollapseError as e:
        print(f"stopped: {e}", file=sys.stderr)
        return 4
    checkpoint()
    return 0


def _millions(network) -> str:
    return f"{sum(p.numel() for p in network.parameters()) / 1e6:.2f}"
