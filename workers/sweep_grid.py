"""A sweep's trials: the grid (``spec.sweep.grid`` merged with the command line's ``--grid``)
crossed with the GAN seeds, every trial's spec checked before anything starts.

The paper's sweeps (section 4) vary the method, α, β, λ, γ, the k-means clusters and the label
fraction, and report the median over three seeds; ``SWEEP_PARAMETERS`` names them. A seed
sweep varies only ``seeds.gan``, so every seed of one setting shares F and its labels.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from s3gan.spec import SpecError
from s3gan.spec.load import Problem, with_overrides
from s3gan.spec.model import ExperimentSpec
from s3gan.spec.rules import SWEEP_PARAMETERS

GridValue = float | int | str
Grid = dict[str, tuple[GridValue, ...]]


@dataclass(frozen=True)
class Trial:
    name: str  # "beta=0.5,method=s3gan,seed=1": the Prometheus ``trial`` label and Tune's config
    overrides: dict[str, GridValue]
    spec: ExperimentSpec

    @property
    def directory(self) -> str:
        """The trial's own files, relative to the sweep directory."""
        return "trials/" + self.name.replace(",", "_")


def parse_value(text: str) -> GridValue:
    """``"2"`` → 2, ``"0.5"`` → 0.5, anything else stays a string (``"s3gan"``)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_grid_option(option: str) -> tuple[str, tuple[GridValue, ...]]:
    """``"beta=0.25,0.5"`` → ``("beta", (0.25, 0.5))``; a bad option names itself."""
    name, sep, values = option.partition("=")
    if not sep or not name.strip():
        raise SpecError("--grid", [Problem(f"--grid {option}", "expected NAME=V1,V2,...")])
    items = tuple(parse_value(v.strip()) for v in values.split(",") if v.strip())
    return name.strip(), items


def merged_grid(spec: ExperimentSpec, options: list[str]) -> Grid:
    """``spec.sweep.grid`` with each ``--grid NAME=...`` replacing (or adding) NAME."""
    grid: Grid = dict(spec.sweep.grid) if spec.sweep is not None else {}
    for option in options:
        name, values = parse_grid_option(option)
        grid[name] = values
    return grid


def seed_count(spec: ExperimentSpec, seeds: int | None) -> int:
    if seeds is not None:
        return seeds
    return spec.sweep.seeds if spec.sweep is not None else 1


def _grid_problems(spec: ExperimentSpec, grid: Grid, seeds: int) -> list[Problem]:
    problems = []
    if not grid and seeds <= 1:
        problems.append(Problem("sweep.grid", "the sweep is empty: give a --grid or --seeds > 1"))
    if seeds < 1:
        problems.append(Problem("sweep.seeds", "must be at least 1", seeds))
    if "seed" in grid and seeds > 1:
        problems.append(Problem("sweep.grid.seed", "sweep seeds either by the grid or by "
                                "--seeds/sweep.seeds, not both"))
    for name, values in grid.items():
        where = f"sweep.grid.{name}"
        if name not in SWEEP_PARAMETERS:
            problems.append(Problem(where, "unknown sweep parameter; one of: "
                                    + ", ".join(SWEEP_PARAMETERS)))
            continue
        if not values:
            problems.append(Problem(where, "needs at least one value"))
        for i, value in enumerate(values):
            try:
                with_overrides(spec, {name: value})
            except SpecError as e:
                why = "; ".join(f"{p.path}: {p.message}" for p in e.problems)
                problems.append(Problem(f"{where}[{i}]", why, value))
    return problems


def _trial_name(overrides: dict[str, GridValue]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(overrides.items()))


def trial_spec(spec: ExperimentSpec, overrides: dict[str, GridValue]) -> ExperimentSpec:
    """The spec one trial runs: ``spec`` with its overrides and without a sweep of its own."""
    return with_overrides(spec, overrides).model_copy(update={"sweep": None})


def plan_trials(spec: ExperimentSpec, grid: Grid, seeds: int) -> list[Trial]:
    """Every grid point × seed as a checked trial (its spec has no ``sweep`` of its own).
    Raises ``SpecError`` naming each bad parameter, value or combination."""
    problems = _grid_problems(spec, grid, seeds)
    if problems:
        raise SpecError("sweep", problems)
    names = sorted(grid)
    points = [dict(zip(names, combo, strict=True))
              for combo in itertools.product(*(grid[n] for n in names))]
    if "seed" not in grid:
        points = [p | {"seed": spec.seeds.gan + s} for p in points for s in range(seeds)]
    trials, problems = [], []
    for overrides in points:
        name = _trial_name(overrides)
        try:
            trials.append(Trial(name, overrides, trial_spec(spec, overrides)))
        except SpecError as e:
            problems += [Problem(f"trial {name}: {p.path}", p.message, p.value)
                         for p in e.problems]
    if problems:
        raise SpecError("sweep", problems)
    return trials
