"""Loading experiment documents, with every problem named by its field path and value."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from s3gan.spec.model import Experiment, ExperimentSpec
from s3gan.spec.rules import RULES, SWEEP_PARAMETERS

_UNION_TAGS = {"int", "float", "str", "bool", "none", "constrained-int", "constrained-float"}
_MESSAGES = {"extra_forbidden": "unknown field", "missing": "required field is missing"}


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    value: Any = None

    def __str__(self) -> str:
        shown = "" if self.value is None else f" (got {self.value!r})"
        return f"{self.path}: {self.message}{shown}"


class SpecError(ValueError):
    """An experiment document that must not run; ``problems`` lists each bad field."""

    def __init__(self, origin: str, problems: list[Problem]):
        self.origin = origin
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{origin}: {len(problems)} problem(s) in the experiment:\n{lines}")


def _path(prefix: str, loc: tuple) -> str:
    parts = [prefix] if prefix else []
    for part in loc:
        if isinstance(part, int):
            parts[-1] = f"{parts[-1]}[{part}]" if parts else f"[{part}]"
        elif part not in _UNION_TAGS and "[" not in str(part):
            parts.append(str(part))
    return ".".join(parts)


def _problems(error: ValidationError, prefix: str = "") -> list[Problem]:
    problems = []
    for e in error.errors():
        value = None if e["type"] == "missing" else e.get("input")
        message = _MESSAGES.get(e["type"], e["msg"])
        problems.append(Problem(_path(prefix, e["loc"]), message, value))
    return problems


def _value_at(spec: ExperimentSpec, path: str) -> Any:
    node: Any = {"spec": spec.model_dump(by_alias=True, mode="json")}
    for key in path.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _broken_rules(spec: ExperimentSpec) -> list[Problem]:
    return [Problem(r.path, r.message, _value_at(spec, r.path)) for r in RULES if not r.holds(spec)]


def check_spec(spec: ExperimentSpec) -> list[Problem]:
    """The cross-field rules and the sweep's values; empty when the spec may run."""
    problems = _broken_rules(spec)
    if spec.sweep is not None and not problems:
        for name, values in spec.sweep.grid.items():
            for i, value in enumerate(values):
                try:
                    with_overrides(spec, {name: value})
                except SpecError as e:
                    why = "; ".join(p.message for p in e.problems)
                    problems.append(Problem(f"spec.sweep.grid.{name}[{i}]", why, value))
    return problems


def parse_experiment(document: Any, origin: str = "<document>") -> Experiment:
    if not isinstance(document, dict):
        problem = Problem("(document)", "must be a mapping", type(document).__name__)
        raise SpecError(origin, [problem])
    try:
        experiment = Experiment.model_validate(document)
    except ValidationError as e:
        raise SpecError(origin, _problems(e)) from None
    problems = check_spec(experiment.spec)
    if problems:
        raise SpecError(origin, problems)
    return experiment


def load_experiment(path: str | Path) -> Experiment:
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as e:
        raise SpecError(str(path), [Problem("(file)", f"cannot read: {e.strerror}")]) from None
    except yaml.YAMLError as e:
        raise SpecError(str(path), [Problem("(file)", f"not valid YAML: {e}")]) from None
    return parse_experiment(document, str(path))


def with_overrides(spec: ExperimentSpec, overrides: dict[str, Any]) -> ExperimentSpec:
    """A new spec with sweep parameters (``beta``) or camelCase paths (``training.dSteps``) set."""
    data = spec.model_dump(by_alias=True, exclude_none=True, mode="json")
    for name, value in overrides.items():
        path = SWEEP_PARAMETERS.get(name, name).split(".")
        node = data
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    try:
        new = ExperimentSpec.model_validate(data)
    except ValidationError as e:
        raise SpecError("overrides", _problems(e, "spec")) from None
    problems = _broken_rules(new)
    if problems:
        raise SpecError("overrides", problems)
    return new
