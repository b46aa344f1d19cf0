"""Every metric the alert rules and dashboards query is one the code exports
(s3gan.monitor.catalogue), queried by labels it carries: a renamed metric or label fails here
instead of leaving a silent alert or an empty panel. PromQL is parsed, not pattern-matched."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field

import promql_parser
import pytest
import yaml

from s3gan.monitor.catalogue import CATALOGUE, SERIES, exposed_series
from tests.charts.rendering import CHART, VARIANTS, alert_groups, render
from tests.tools import promtool

# Series Prometheus makes itself for every target.
BUILTIN_SERIES = frozenset({"up"})
# Labels Prometheus (through the ServiceMonitor and PodMonitor) adds to every scraped series.
TARGET_LABELS = frozenset({"job", "instance", "namespace", "pod", "container", "service",
                           "endpoint"})
# Labels of each stored series: a histogram's _bucket series also carries `le`.
SERIES_LABELS = {
    series: frozenset(metric.labels) | ({"le"} if series.endswith("_bucket") else set())
    for metric in CATALOGUE for series in exposed_series(metric)
}
# Grafana's built-in range variables, then any dashboard variable, by what PromQL accepts there.
GRAFANA_RANGES = re.compile(r"\$\{?(__rate_interval|__interval|__range)\b\}?")
GRAFANA_VARIABLE = re.compile(r"\$\{\w+(:\w+)?\}|\$\w+")
LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>\w+)\)$")


@dataclass
class Usage:
    """What one PromQL expression reads: series names, and label names per selector and clause."""

    series: set[str] = field(default_factory=set)
    selector_labels: list[tuple[str | None, set[str]]] = field(default_factory=list)
    clause_labels: set[str] = field(default_factory=set)


def usage(expr: str) -> Usage:
    found = Usage()

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector):
            matchers = list(node.matchers.matchers)
            for alternative in node.matchers.or_matchers:
                matchers += alternative
            names = {m.value for m in matchers
                     if m.name == "__name__" and m.op == promql_parser.MatchOp.Equal}
            name = node.name or (names.pop() if len(names) == 1 else None)
            if name is None:
                raise ValueError(f"a selector without one exact metric name in {expr!r}")
            found.series.add(name)
            found.selector_labels.append((name, {m.name for m in matchers} - {"__name__"}))
        elif isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            found.clause_labels |= set(node.modifier.labels)
        elif isinstance(node, promql_parser.BinaryExpr) and node.modifier is not None:
            if node.modifier.matching is not None:
                found.clause_labels |= set(node.modifier.matching.labels)
            found.clause_labels |= set(node.modifier.group_labels or ())

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def grafana_query(text: str) -> str:
    """A dashboard query as plain PromQL: Grafana variables replaced by values of their kind."""
    match = LABEL_VALUES.match(text)
    if match:
        text = match["selector"]
    elif text.startswith(("label_values(", "label_names(", "metrics(", "query_result(")):
        raise ValueError(f"unsupported Grafana variable query {text!r}")
    return GRAFANA_VARIABLE.sub("x", GRAFANA_RANGES.sub("5m", text))


def dashboard_queries(dashboard: dict) -> list[str]:
    queries = []

    def panels(items):
        for panel in items:
            queries.extend(t["expr"] for t in panel.get("targets", []) if t.get("expr"))
            panels(panel.get("panels", []))

    panels(dashboard["panels"])
    queries += [a["expr"] for a in dashboard["annotations"]["list"] if a.get("expr")]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            queries.append(query["query"] if isinstance(query, dict) else query)
    return queries


def all_queries() -> dict[str, str]:
    out = {}
    for variant in VARIANTS:
        if variant == "monitoring-disabled":
            continue
        for group in alert_groups(render(variant))["groups"]:
            for rule in group["rules"]:
                out[f"{variant} rule {rule['alert']}"] = rule["expr"]
    for path in sorted((CHART / "dashboards").glob("*.json")):
        for i, query in enumerate(dashboard_queries(json.loads(path.read_text()))):
            out[f"{path.name} query {i}"] = grafana_query(query)
    return out


def mistakes(expr: str) -> list[str]:
    found = usage(expr)
    problems = [f"{s} is not exported" for s in sorted(found.series - SERIES - BUILTIN_SERIES)]
    known = set(TARGET_LABELS)
    for name in found.series:
        known |= SERIES_LABELS.get(name, set())
    for name, labels in found.selector_labels:
        allowed = SERIES_LABELS.get(name, labels) | TARGET_LABELS
        problems += [f"{name} has no label {label}" for label in sorted(labels - allowed)]
    problems += [f"no series here has label {label}"
                 for label in sorted(found.clause_labels - known)]
    return problems


def test_rules_and_dashboards_query_only_exported_metrics_by_their_labels():
    queries = all_queries()
    assert len(queries) > 30
    problems = {where: p for where, expr in queries.items() if (p := mistakes(expr))}
    assert not problems


def test_every_dashboard_queries_project_metrics():
    for path in (CHART / "dashboards").glob("*.json"):
        queries = [grafana_query(q) for q in dashboard_queries(json.loads(path.read_text()))]
        assert {s for q in queries for s in usage(q).series} & SERIES, path.name


@pytest.mark.parametrize("expr, expected", [
    ("rate(s3gan_bogus_total[5m])", ["s3gan_bogus_total is not exported"]),
    ('{__name__="s3gan_fids"}', ["s3gan_fids is not exported"]),
    ('s3gan_fid{experiment="a"} / on (experiment) group_left (weights) up', []),
    ('s3gan_loss{terms="d_hinge"}', ["s3gan_loss has no label terms"]),
    ("sum by (phases) (s3gan_operator_experiments)", ["no series here has label phases"]),
    ("histogram_quantile(0.9, sum by (le) (rate(s3gan_step_duration_seconds_bucket[5m])))", []),
    ("max_over_time(s3gan_fid[1h:5m]) - s3gan_fid offset 1h", []),
])
def test_the_checker_sees_through_promql(expr, expected):
    assert mistakes(expr) == expected


def test_grafana_variables_become_plain_promql():
    query = grafana_query('rate(s3gan_training_images_total{experiment=~"$experiment", '
                          'trial=~"${trial}"}[$__rate_interval])')
    assert usage(query).series == {"s3gan_training_images_total"}
    assert grafana_query("rate(up[${__rate_interval}])") == "rate(up[5m])"
    assert grafana_query('label_values(s3gan_training_step{namespace=~"$namespace"}, '
                         "experiment)") == 's3gan_training_step{namespace=~"x"}'
    with pytest.raises(ValueError):
        grafana_query("query_result(up)")


def test_a_selector_without_a_metric_name_is_refused():
    with pytest.raises(ValueError):
        usage('{experiment="a"}')


def test_dashboard_queries_are_promql_prometheus_accepts(tmp_path):
    # Prometheus' own parser, through promtool: each query becomes a recording rule.
    queries = []
    for path in sorted((CHART / "dashboards").glob("*.json")):
        queries += [grafana_query(q) for q in dashboard_queries(json.loads(path.read_text()))]
    rules = [{"record": f"dashboard:query_{i}", "expr": q} for i, q in enumerate(queries)]
    rule_file = tmp_path / "dashboards.yaml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    done = subprocess.run([str(promtool()), "check", "rules", str(rule_file)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules)} rules found" in done.stdout
