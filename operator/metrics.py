"""The operator's Prometheus metrics: the catalogue's ``s3gan_operator_*`` entries, served by
the project's catalogue-checked exporter."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from s3gan_operator.crd import PHASES

from s3gan.monitor.catalogue import CATALOGUE
from s3gan.monitor.exporter import Exporter

OPERATOR_METRICS = tuple(m for m in CATALOGUE if m.name.startswith("s3gan_operator_"))


def operator_exporter() -> Exporter:
    return Exporter(OPERATOR_METRICS)


@contextmanager
def observe(exporter: Exporter, handler: str) -> Iterator[None]:
    """Time a handler and count it as failed when it raises."""
    started = time.perf_counter()
    try:
        yield
    except Exception:
        exporter.inc("s3gan_operator_reconcile_errors_total", handler=handler)
        raise
    finally:
        exporter.observe("s3gan_operator_reconcile_duration_seconds",
                         time.perf_counter() - started, handler=handler)


def count_phases(exporter: Exporter, phases: Mapping[str, str]) -> None:
    """Set the per-phase gauge from {experiment uid: phase}; absent phases read 0."""
    for phase in PHASES:
        exporter.set("s3gan_operator_experiments",
                     sum(1 for p in phases.values() if p == phase), phase=phase)
