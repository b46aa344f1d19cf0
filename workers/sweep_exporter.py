"""A sweep's Prometheus metrics, kept by the Tune driver: trials by state, and each trial's step
and FID under its bounded ``trial`` label (one value per grid point × seed).

Trials run concurrently on one node, so they do not serve metrics themselves (they would
contend for one port); the driver sees every result they report and exports it. Tune pickles its
callbacks with the experiment state (and unpickles them on restore), so the callback holds only
names and finds the driver's exporter, which cannot be pickled, in :func:`exporting`'s registry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from ray.tune.callback import Callback

from s3gan.eval.inception_weights import weights_label
from s3gan.monitor.exporter import Exporter
from s3gan.spec.model import ExperimentSpec

# Tune's trial statuses → the catalogue's ``state`` values.
STATES = {"PENDING": "pending", "PAUSED": "pending", "RUNNING": "running",
          "TERMINATED": "terminated", "ERROR": "error"}


_EXPORTERS: dict[str, Exporter] = {}  # experiment → the exporter of its sweep's driver


@contextmanager
def exporting(experiment: str, exporter: Exporter) -> Iterator[None]:
    """While the sweep runs, its callbacks export through ``exporter``."""
    _EXPORTERS[experiment] = exporter
    try:
        yield
    finally:
        del _EXPORTERS[experiment]


class SweepExporter(Callback):
    def __init__(self, experiment: str, spec: ExperimentSpec):
        self.experiment = experiment
        self.weights = weights_label(spec.evaluation.inception_weights)

    @property
    def exporter(self) -> Exporter:
        return _EXPORTERS[self.experiment]

    def _states(self, trials) -> None:
        counts = Counter(STATES.get(t.status, "pending") for t in trials)
        for state in sorted(set(STATES.values())):
            self.exporter.set("s3gan_sweep_trials", counts[state], experiment=self.experiment,
                              state=state)

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        self._states(trials)

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        labels = {"experiment": self.experiment, "trial": trial.config["trial"]}
        self.exporter.set("s3gan_training_step", result["step"], **labels)
        self.exporter.set("s3gan_fid", result["fid"], weights=self.weights, **labels)
        score = result.get("inceptionScore")
        if isinstance(score, float):
            self.exporter.set("s3gan_inception_score", score, weights=self.weights, **labels)
        self._states(trials)

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self._states(trials)

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self._states(trials)
