"""`s3gan run FILE [--address ADDR] [--run-dir DIR]`: the whole pipeline (pretrain F, infer
labels, train the GAN, evaluate) on Ray: an embedded local Ray bound to 127.0.0.1, or an existing
cluster. Re-running resumes: finished stages are skipped, training continues from its newest
verified checkpoint. Ray is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import os


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "run", help="run the whole pipeline (pretrain, labels, train, evaluate) on Ray")
    run.add_argument("file", metavar="FILE", help="S3GANExperiment YAML file")
    add_run_arguments(run)
    run.set_defaults(run=_run)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``s3gan run`` shares with ``python -m s3gan_workers.pipeline``."""
    # A Ray job's entrypoint gets its cluster's address in RAY_ADDRESS (Ray's job supervisor
    # sets it, as for the operator's RayJobs), and must join that cluster, not start one.
    parser.add_argument("--address", metavar="ADDR", default=os.environ.get("RAY_ADDRESS") or None,
                        help="an existing Ray cluster (default: $RAY_ADDRESS, else start one on "
                             "127.0.0.1)")
    parser.add_argument("--run-dir", metavar="DIR",
                        help="run directory, a path or s3:// URI "
                             "(default: storage.runs/<metadata.name>)")
    parser.add_argument("--num-cpus", type=int, metavar="N",
                        help="CPUs of the embedded Ray (default: all)")
    # In a pod the operator sets S3GAN_METRICS_PORT (and S3GAN_METRICS_ADDRESS) for the
    # chart's PodMonitor; the entrypoint is fixed, so the default comes from there.
    port = os.environ.get("S3GAN_METRICS_PORT")
    parser.add_argument("--metrics-port", type=int, metavar="PORT",
                        default=int(port) if port else None,
                        help="serve Prometheus metrics from rank 0 on PORT "
                             "(default: $S3GAN_METRICS_PORT, else none)")


def _run(args: argparse.Namespace) -> int:
    from s3gan.cli.experiment_file import USAGE_ERROR, read_experiment

    experiment = read_experiment(args.file, with_dataset=True)
    if experiment is None:
        return USAGE_ERROR
    from s3gan_workers import ray_session

    ray_session.embedded_on_loopback(args.address)
    from s3gan_workers.pipeline import execute

    return execute(experiment, args.run_dir, args.address, args.num_cpus, args.metrics_port)
