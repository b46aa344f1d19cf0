"""A sweep driver in its own process, joined to the session's Ray cluster, so a test can kill it
(SIGKILL, no clean-up) in the middle of the sweep: ``python -m tests.workers.sweep_driver
ADDRESS DATASET RUN_DIR``."""

from __future__ import annotations

import sys

import ray
import ray.cloudpickle
from s3gan_workers.sweep import run_sweep
from s3gan_workers.sweep_grid import plan_trials

from s3gan.data.storage import open_location
from tests.workers import pipeline_fixtures
from tests.workers.pipeline_fixtures import TinyNetwork

ray.cloudpickle.register_pickle_by_value(pipeline_fixtures)


def tiny_sweep_experiment(dataset: str):
    """Methods × label fractions, two seeds: one trial fits in one CPU."""
    experiment = pipeline_fixtures.tiny_experiment("tiny-sweep", "s3gan", dataset, steps=4)
    spec = experiment.spec.model_copy(update={
        "resources": experiment.spec.resources.model_copy(update={"workers": 1}),
        "training": experiment.spec.training.model_copy(update={"global_batch": 4}),
        "evaluation": experiment.spec.evaluation.model_copy(update={"every_steps": 2})})
    return experiment.model_copy(update={"spec": spec})


GRID = {"method": ("s2gan", "s3gan"), "fraction": (0.1, 0.2)}
SEEDS = 2


def main(address: str, dataset: str, run_dir: str) -> None:
    ray.init(address=address, log_to_driver=False)
    experiment = tiny_sweep_experiment(dataset)
    trials = plan_trials(experiment.spec, GRID, SEEDS)
    run_sweep(experiment, open_location(run_dir), trials, feature_network=TinyNetwork())


if __name__ == "__main__":
    main(*sys.argv[1:])
