"""A sweep driver in its own process, joined to the session's Ray cluster, so a test can kill it
(SIGKILL, no clean-up) in the middle of the sweep: ``python tests/workers/sweep_driver.py
ADDRESS DATASET RUN_DIR``."""

from __future__ import annotations

import sys
import types
from pathlib import Path

GRID = {"method": ("s2gan", "s3gan"), "fraction": (0.1, 0.2)}
SEEDS = 2


def tiny_sweep_experiment(dataset: str):
    """Methods × label fractions on the pipeline tests' tiny experiment, one worker per trial
    (so two trials fit in two CPUs), one pretraining epoch, four G steps with an FID point at
    step 2."""
    from tests.workers.pipeline_fixtures import tiny_experiment

    experiment = tiny_experiment("tiny-sweep", "s3gan", dataset, steps=4)
    spec = experiment.spec.model_copy(update={
        "pretraining": experiment.spec.pretraining.model_copy(update={"epochs": 1,
                                                                      "decay_epochs": ()}),
        "resources": experiment.spec.resources.model_copy(update={"workers": 1}),
        "training": experiment.spec.training.model_copy(update={"global_batch": 4}),
        "evaluation": experiment.spec.evaluation.model_copy(update={"every_steps": 2})})
    return experiment.model_copy(update={"spec": spec})


def main(address: str, dataset: str, run_dir: str) -> None:
    import ray
    import ray.cloudpickle
    from s3gan_workers.sweep import run_sweep
    from s3gan_workers.sweep_grid import plan_trials

    from s3gan.data.storage import open_location
    from tests.workers import pipeline_fixtures

    ray.cloudpickle.register_pickle_by_value(pipeline_fixtures)
    ray.init(address=address, log_to_driver=False)
    experiment = tiny_sweep_experiment(dataset)
    trials = plan_trials(experiment.spec, GRID, SEEDS)
    run_sweep(experiment, open_location(run_dir), trials,
              feature_network=pipeline_fixtures.TinyNetwork())


def _repository_test_packages() -> None:
    """Run as a script, ``tests`` would resolve to a dependency's own ``tests`` package in
    site-packages; map it to this repository's test tree, as pytest's importlib mode does."""
    root = Path(__file__).resolve().parents[1]
    for name, path in (("tests", root), ("tests.workers", root / "workers"),
                       ("tests.fixtures", root / "fixtures")):
        package = types.ModuleType(name)
        package.__path__ = [str(path)]
        sys.modules[name] = package


if __name__ == "__main__":
    _repository_test_packages()
    main(*sys.argv[1:])
