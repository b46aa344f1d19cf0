"""The experiment file a command is given: loaded whole, or the reason it is not printed and the
command's exit status is 2 (a usage error, as argparse's own)."""

from __future__ import annotations

import sys
from pathlib import Path

from s3gan.spec import SpecError, load_experiment
from s3gan.spec.model import Experiment

USAGE_ERROR = 2


def read_experiment(path: str | Path) -> Experiment | None:
    """The experiment in ``path``; None once every problem with it (naming the file and the
    field) has gone to stderr, and the command should return ``USAGE_ERROR``."""
    try:
        return load_experiment(path)
    except SpecError as e:
        print(e, file=sys.stderr)
        return None
