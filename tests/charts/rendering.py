"""Renders charts/s3gan with helm, once per set of values, the way the tests install it."""

from __future__ import annotations

import functools
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tests.tools import helm

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "s3gan"
SHARED = REPO.parent / "shared"
RELEASE = "s3gan"
NAMESPACE = "s3gan-system"
MONITORING_GROUP = "monitoring.coreos.com/v1"

# The sets of values every rendering test runs over: the defaults and the non-default modes.
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "namespaced": {"watch": {"mode": "namespaced", "namespaces": ["team-a", "team-b"]}},
    "cluster": {"watch": {"mode": "cluster"}},
    "monitoring-disabled": {"monitoring": {"enabled": False}, "dashboards": {"enabled": False}},
    "custom": {
        "image": {
            "operator": {"repository": "registry.example.com/ml/s3gan-operator", "tag": "1.2.3",
                         "pullPolicy": "Always"},
            "ray": {"repository": "registry.example.com/ml/s3gan-ray", "tag": "1.2.3-tpu"},
        },
        "imagePullSecrets": [{"name": "registry-credentials"}],
        "ray": {"version": "2.60.1", "auth": "off", "networkPolicy": "DenyAllIngress",
                "terminationGraceSeconds": 300,
                "allowedImages": ["registry.example.com/ml/", "ghcr.io/s3gan/ray"]},
        "networkPolicy": {"enabled": False, "monitoringNamespace": "prometheus"},
        "serviceAccount": {"name": "trainer-operator", "annotations": {"team": "ml"}},
        "operator": {
            "healthPort": 8181,
            "metricsAddress": "127.0.0.1",
            "metricsPort": 9191,
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "ml",
                             "effect": "NoSchedule"}],
            "priorityClassName": "ml-critical",
        },
        "monitoring": {
            "releaseLabel": "prometheus",
            "scrapeInterval": "15s",
            "alerts": {"stalledTrainingSeconds": 600, "fidRegressionRatio": 1.5, "fidWindow": "2h"},
        },
        "dashboards": {"namespace": "grafana"},
    },
}


class HelmError(RuntimeError):
    """helm exited non-zero; the message is its stderr."""


def run_helm(*args: str, values: dict[str, Any] | None = None) -> str:
    """helm's stdout; with `values`, they are passed as a values file."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [str(helm()), *args]
        if values is not None:
            values_file = Path(tmp) / "values.yaml"
            values_file.write_text(yaml.safe_dump(values))
            command += ["--values", str(values_file)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise HelmError(done.stderr.strip())
    return done.stdout


def template_text(values: dict[str, Any] | None = None, include_crds: bool = True) -> str:
    crds = ["--include-crds"] if include_crds else []
    return run_helm("template", RELEASE, str(CHART), "--namespace", NAMESPACE, *crds,
                    values=values)


@functools.cache
def _render(values_json: str) -> tuple[dict[str, Any], ...]:
    text = template_text(json.loads(values_json))
    return tuple(doc for doc in yaml.safe_load_all(text) if doc)


def render(variant: str) -> list[dict[str, Any]]:
    """The objects `helm template` renders for one of VARIANTS (CRDs included), as fresh copies."""
    docs = _render(json.dumps(VARIANTS[variant], sort_keys=True))
    return json.loads(json.dumps(docs))


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = of_kind(docs, kind)
    assert len(found) == 1, f"expected one {kind}, rendered {len(found)}"
    return found[0]


def alert_groups(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The PrometheusRule unwrapped into a Prometheus rule file: what promtool reads."""
    return {"groups": one(docs, "PrometheusRule")["spec"]["groups"]}
