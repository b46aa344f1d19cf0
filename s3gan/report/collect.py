"""What a report reads: the trials of a sweep directory, or the one run of a run directory.

A sweep directory holds ``trials/<trial>/trial.json`` (overrides and spec) and
``trials/<trial>/run.json`` (its stage records' keys, directories and results), with each
trial's state in ``sweep.json`` once the sweep has ended; a run directory holds one ``run.json``
and, beside it, the ``experiment.yaml`` the run resolved (older run directories lack it: their
experiment is given by hand). Stage artefacts live under ``stages/<stage>/<key>/`` of the same
directory in both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pyarrow.fs as pafs
import yaml

from s3gan.data.storage import Location, StorageNotFound
from s3gan.spec import parse_experiment
from s3gan.spec.model import ExperimentSpec

RUN_SUMMARY = "run.json"
RUN_EXPERIMENT = "experiment.yaml"
SWEEP_SUMMARY = "sweep.json"
TRIAL_FILE = "trial.json"
TRIALS = "trials"


class ReportSourceError(ValueError):
    """A directory that is neither a run nor a sweep, or a summary that cannot be read."""


@dataclass(frozen=True)
class TrialResult:
    name: str
    spec: ExperimentSpec | None  # None: a single run whose experiment was not given
    method: str
    state: str  # "terminated", "error", "unfinished"
    stages: dict[str, dict[str, Any]]  # stage → {"key", "directory", "results"}
    error: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def fraction(self) -> float | None:
        return self.spec.labels.fraction if self.spec is not None else None

    @property
    def seed(self) -> int | None:
        return self.spec.seeds.gan if self.spec is not None else None

    def results(self, stage: str) -> dict[str, Any]:
        return self.stages.get(stage, {}).get("results", {})

    def directory(self, stage: str) -> str | None:
        return self.stages.get(stage, {}).get("directory")


@dataclass(frozen=True)
class ReportSource:
    location: Location
    kind: str  # "sweep" or "run"
    name: str
    trials: tuple[TrialResult, ...]


def _json(location: Location, path: str) -> Any:
    try:
        return json.loads(location.read_bytes(path))
    except json.JSONDecodeError as e:
        raise ReportSourceError(f"{location.url(path)}: not JSON ({e})") from e


def _sweep_states(location: Location) -> dict[str, dict]:
    try:
        summary = _json(location, SWEEP_SUMMARY)
    except StorageNotFound:
        return {}  # a sweep still going, or cut short: its trials' own files are the truth
    return {t["trial"]: t for t in summary["trials"]}


def _trial_directories(location: Location) -> list[str]:
    selector = pafs.FileSelector(location.path(TRIALS), allow_not_found=True)
    infos = location.fs.get_file_info(selector)
    return sorted(f"{TRIALS}/{i.base_name}" for i in infos if i.type == pafs.FileType.Directory)


def _sweep(location: Location) -> ReportSource:
    states = _sweep_states(location)
    trials = []
    for directory in _trial_directories(location):
        trial = _json(location, f"{directory}/{TRIAL_FILE}")
        spec = ExperimentSpec.model_validate(trial["spec"])
        try:
            stages = _json(location, f"{directory}/{RUN_SUMMARY}")["stages"]
        except StorageNotFound:
            stages = {}
        ended = states.get(trial["trial"], {})
        state = ended.get("state") or ("terminated" if "evaluate" in stages else "unfinished")
        trials.append(TrialResult(trial["trial"], spec, spec.method.value, state, stages,
                                  ended.get("error"), trial["overrides"]))
    if not trials:
        raise ReportSourceError(f"{location.url(TRIALS)}: the sweep has no trials yet")
    name = location.uri.rstrip("/").rsplit("/", 1)[-1]
    return ReportSource(location, "sweep", name, tuple(trials))


def stored_spec(location: Location) -> ExperimentSpec | None:
    """The spec of the run's ``experiment.yaml``, or None where the run stored none."""
    try:
        text = location.read_bytes(RUN_EXPERIMENT)
    except StorageNotFound:
        return None
    where = location.url(RUN_EXPERIMENT)
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ReportSourceError(f"{where}: not YAML ({e})") from e
    return parse_experiment(document, where).spec


def read_source(location: Location, spec: ExperimentSpec | None = None) -> ReportSource:
    """The trials under ``location``: a sweep directory, else a run directory, whose experiment
    is ``spec`` when given, else the one the run stored (for what needs it: label fraction,
    sampling the generator)."""
    if location.exists(TRIALS):
        return _sweep(location)
    try:
        summary = _json(location, RUN_SUMMARY)
    except StorageNotFound:
        raise ReportSourceError(f"{location.uri}: neither a sweep directory ({TRIALS}/) nor a "
                                f"run directory ({RUN_SUMMARY})") from None
    stages = summary["stages"]
    state = "terminated" if "evaluate" in stages else "unfinished"
    spec = spec or stored_spec(location)
    trial = TrialResult(summary["experiment"], spec, summary["method"], state, stages)
    return ReportSource(location, "run", summary["experiment"], (trial,))
