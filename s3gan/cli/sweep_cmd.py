"""`s3gan sweep FILE [--grid NAME=V1,V2,...]... [--seeds N] [--scheduler asha] [--address ADDR]
[--run-dir DIR]`: one Ray Tune trial per grid point and seed.

The grid is ``spec.sweep.grid`` with each ``--grid`` replacing or adding a parameter (``method``,
``alpha``, ``beta``, ``lambda``, ``gamma``, ``clusters``, ``fraction``, ``seed``); the seeds are
``--seeds`` or ``spec.sweep.seeds``. Every trial's spec is checked before Ray starts. Shared
stages (F, its labels, the real-set statistics) run once before the trials; re-running the same
command resumes an interrupted sweep without redoing finished trials. Ray is imported only when
the command runs.
"""

from __future__ import annotations

import argparse
import sys

from s3gan.cli.run_cmd import add_run_arguments


def register(commands: argparse._SubParsersAction) -> None:
    sweep = commands.add_parser(
        "sweep", help="run a grid of trials × seeds on Ray Tune, shared stages computed once")
    sweep.add_argument("file", metavar="FILE", help="S3GANExperiment YAML file")
    sweep.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,...",
                       help="a swept parameter and its values (repeatable)")
    sweep.add_argument("--seeds", type=int, metavar="N",
                       help="GAN seeds per grid point (default: spec.sweep.seeds, else 1)")
    sweep.add_argument("--scheduler", choices=("none", "asha"),
                       help="asha: stop trials early on FID (default: spec.sweep.scheduler)")
    add_run_arguments(sweep)
    sweep.set_defaults(run=_sweep)


def _sweep(args: argparse.Namespace) -> int:
    from s3gan_workers.sweep_grid import merged_grid, plan_trials, seed_count

    from s3gan.spec import SpecError, load_experiment

    try:
        experiment = load_experiment(args.file)
        spec = experiment.spec
        trials = plan_trials(spec, merged_grid(spec, args.grid), seed_count(spec, args.seeds))
    except SpecError as e:
        print(e, file=sys.stderr)
        return 2
    scheduler = args.scheduler or (spec.sweep.scheduler if spec.sweep is not None else "none")
    print(f"{len(trials)} trial(s): " + "; ".join(t.name for t in trials))
    from s3gan_workers import ray_session

    ray_session.embedded_on_loopback(args.address)
    from s3gan_workers.sweep import execute_sweep

    return execute_sweep(experiment, trials, scheduler, args.run_dir, args.address,
                         args.num_cpus, args.metrics_port)
