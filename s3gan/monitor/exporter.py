"""The Prometheus exporter: the catalogue's metrics, and nothing else, served on ``/metrics``.

Every metric is created from its ``catalogue.Metric`` entry in a registry of its own (never the
process-global one, so two exporters or a library's metrics cannot collide). Setting a name the
catalogue lacks, with labels other than the declared ones, or through the wrong kind of update
(``set`` on a counter) raises ``MetricError``: the catalogue's cardinality contract is enforced
where values enter, not discovered in a dashboard.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from s3gan.monitor.catalogue import CATALOGUE, Metric


class MetricError(ValueError):
    """A metric update the catalogue does not allow; the message names the metric."""


def _create(metric: Metric, registry: CollectorRegistry):
    common = dict(name=metric.name, documentation=metric.help, labelnames=metric.labels,
                  registry=registry)
    if metric.type == "counter":
        return Counter(**common)
    if metric.type == "gauge":
        return Gauge(**common)
    return Histogram(buckets=metric.buckets, **common)


class Exporter:
    def __init__(self, catalogue: Iterable[Metric] = CATALOGUE):
        self.registry = CollectorRegistry()
        self._metrics = {m.name: (m, _create(m, self.registry)) for m in catalogue}
        self._server: WSGIServer | None = None

    def set(self, name: str, value: float, **labels: str) -> None:
        """A gauge's new value."""
        self._child(name, "gauge", labels).set(value)

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """A counter's increment (counters only grow)."""
        self._child(name, "counter", labels).inc(amount)

    def observe(self, name: str, value: float, **labels: str) -> None:
        """One observation into a histogram."""
        self._child(name, "histogram", labels).observe(value)

    def start(self, port: int, addr: str | None = None) -> int:
        """Serve ``/metrics`` from a daemon thread; port 0 picks a free one. Returns the port.
        ``addr`` defaults to $S3GAN_METRICS_ADDRESS (set in the operator's pods), else loopback."""
        addr = addr or os.environ.get("S3GAN_METRICS_ADDRESS", "127.0.0.1")
        if self._server is not None:
            raise RuntimeError(f"exporter already serving on port {self._server.server_port}")
        self._server, _ = start_http_server(port, addr=addr, registry=self.registry)
        return self._server.server_port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _child(self, name: str, kind: str, labels: dict[str, str]):
        if name not in self._metrics:
            raise MetricError(f"metric {name!r} is not in s3gan.monitor.catalogue")
        metric, collector = self._metrics[name]
        if metric.type != kind:
            raise MetricError(f"metric {name!r} is a {metric.type}, not a {kind}")
        if set(labels) != set(metric.labels):
            raise MetricError(f"metric {name!r} takes labels {sorted(metric.labels)}, "
                              f"got {sorted(labels)}")
        return collector.labels(**{k: str(v) for k, v in labels.items()}) if labels else collector
