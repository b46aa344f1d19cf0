"""The operator's Prometheus metrics (``s3gan_operator_*`` in ``s3gan.monitor.catalogue``)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from s3gan_operator.crd import PHASES

from s3gan.monitor.catalogue import BY_NAME

REGISTRY = CollectorRegistry()


def _declare(name: str):
    metric = BY_NAME[name]
    kind = {"counter": Counter, "gauge": Gauge, "histogram": Histogram}[metric.type]
    extra = {"buckets": metric.buckets} if metric.type == "histogram" else {}
    return kind(metric.name, metric.help, metric.labels, registry=REGISTRY, **extra)


EXPERIMENTS = _declare("s3gan_operator_experiments")
RECONCILE_ERRORS = _declare("s3gan_operator_reconcile_errors_total")
RECONCILE_DURATION = _declare("s3gan_operator_reconcile_duration_seconds")


@contextmanager
def observe(handler: str) -> Iterator[None]:
    """Time a handler and count it as failed when it raises."""
    started = time.perf_counter()
    try:
        yield
    except Exception:
        RECONCILE_ERRORS.labels(handler).inc()
        raise
    finally:
        RECONCILE_DURATION.labels(handler).observe(time.perf_counter() - started)


def count_phases(phases: Mapping[str, str]) -> None:
    """Set the per-phase gauge from {experiment uid: phase}; absent phases read 0."""
    for phase in PHASES:
        EXPERIMENTS.labels(phase).set(sum(1 for p in phases.values() if p == phase))


def start_exporter(port: int):
    """Serve /metrics on every interface; returns the server (its port when asked for 0)."""
    server, _ = start_http_server(port, registry=REGISTRY)
    return server
