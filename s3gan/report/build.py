"""A run's or a sweep's report: ``report.html`` (self-contained), each figure as a PNG, each
table as CSV, and all tables in ``tables.md``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from s3gan.data.storage import open_location
from s3gan.report import clusters, figures
from s3gan.report.collect import ReportSource, read_source
from s3gan.report.page import render
from s3gan.report.tables import Table, classifier_table, score_table
from s3gan.spec.model import ExperimentSpec

PAGE = "report.html"
MARKDOWN = "tables.md"


@dataclass(frozen=True)
class Report:
    page: Path
    tables: tuple[Table, ...]
    figures: tuple[figures.Figure, ...]


def _summary(source: ReportSource) -> list[str]:
    lines = [f"{source.kind} directory: {source.location.uri}",
             f"{len(source.trials)} trial(s): " + ", ".join(
                 f"{state} {sum(t.state == state for t in source.trials)}"
                 for state in sorted({t.state for t in source.trials}))]
    lines += [f"{t.name} failed: {t.error}" for t in source.trials if t.state == "error"]
    return lines


def _tables(source: ReportSource) -> list[Table]:
    tables = [score_table(source.trials, "fid"), score_table(source.trials, "classAccuracyScore"),
              score_table(source.trials, "intraClassFid"),
              score_table(source.trials, "inceptionScore")]
    if any("labels" in t.stages for t in source.trials):
        tables.append(classifier_table(source.trials))
    return tables


def _sections(source: ReportSource) -> list[tuple[str, list[figures.Figure], str]]:
    location, trials = source.location, source.trials
    chosen = figures.representatives(trials)
    resolution = {t.name: t.spec.dataset.resolution if t.spec else None for t in chosen}
    grids = [g for t in chosen if (g := figures.class_grid(location, t, resolution[t.name]))]
    paths = [p for t in chosen if (p := figures.interpolation(location, t))]
    clustered = [c for t in chosen if (c := clusters.cluster_grid(location, t))]
    no_spec = "" if all(t.spec for t in chosen) else (
        "Sampling the checkpoints needs the experiment: this run directory stores none, "
        "pass --experiment.")
    return [
        ("Training curves", [figures.curves(location, trials)], ""),
        ("Samples per class (paper Figs. 17–20), one seed per setting", grids,
         "" if grids else "No finished training stage wrote a sample grid."),
        ("Latent interpolations (paper Figs. 9–13)", paths,
         "" if paths else no_spec or "No local checkpoint to sample from."),
        ("Real and generated images per k-means cluster (paper Figs. 14–16)", clustered,
         "" if clustered else "Only clustering methods have k-means clusters."),
    ]


def build_report(source_uri: str, out: Path, spec: ExperimentSpec | None = None) -> Report:
    """Read the run or sweep at ``source_uri`` and write its report under ``out``."""
    source = read_source(open_location(source_uri, spec.storage if spec else None), spec)
    tables = _tables(source)
    sections = _sections(source)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for _, section_figures, _ in sections:
        for figure in section_figures:
            (out / figure.name).write_bytes(figure.png)
            written.append(figure)
    names = ("fid", "class-accuracy-score", "intra-class-fid", "inception-score",
             "label-accuracy")
    for name, table in zip(names, tables, strict=False):
        (out / f"{name}.csv").write_text(table.csv())
    (out / MARKDOWN).write_text("\n".join(t.markdown() for t in tables))
    page = out / PAGE
    page.write_text(render(f"s3gan report: {source.name}", _summary(source), tables, sections))
    return Report(page, tuple(tables), tuple(written))
