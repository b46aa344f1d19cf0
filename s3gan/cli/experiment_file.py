"""The experiment file a command is given: loaded whole, or the reason it is not printed and the
command's exit status is 2 (a usage error, as argparse's own)."""

from __future__ import annotations

import sys
from pathlib import Path

from s3gan.spec import SpecError, load_experiment
from s3gan.spec.model import Experiment

USAGE_ERROR = 2


def read_experiment(path: str | Path, with_dataset: bool = False) -> Experiment | None:
    """The experiment in ``path``; None once every problem with it (naming the file and the
    field) has gone to stderr, and the command should return ``USAGE_ERROR``. ``with_dataset``:
    its dataset must be readable too (:func:`dataset_problem`)."""
    try:
        experiment = load_experiment(path)
    except SpecError as e:
        print(e, file=sys.stderr)
        return None
    problem = dataset_problem(path, experiment) if with_dataset else None
    if problem:
        print(problem, file=sys.stderr)
        return None
    return experiment


def dataset_problem(path: str | Path, experiment: Experiment) -> str | None:
    """Why the experiment's dataset cannot be read (naming the file and the field), or None:
    asked before any stage starts, so a missing dataset is one line, not a worker's traceback."""
    from s3gan.data.manifest import ManifestError, read_manifest
    from s3gan.data.storage import StorageError, open_location

    spec = experiment.spec
    try:
        read_manifest(open_location(spec.dataset.uri, spec.storage))
    except (ManifestError, StorageError) as e:
        return (f"{path}: spec.dataset.uri {spec.dataset.uri!r} is not a converted dataset: {e}. "
                "Make one with `s3gan data convert SOURCE DIR`.")
    return None
