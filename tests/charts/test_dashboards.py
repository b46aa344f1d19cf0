"""The Grafana dashboards are well formed: unique uids and panel ids, panels inside Grafana's
24-column grid without overlapping, every query on the dashboard's Prometheus data source
variable with a unique refId, and the variables each query uses defined."""

from __future__ import annotations

import json
import re

import pytest

from tests.charts.rendering import CHART

DASHBOARDS = sorted((CHART / "dashboards").glob("*.json"))
BUILTIN_VARIABLES = {"__rate_interval", "__interval", "__range"}
VARIABLE = re.compile(r"\$\{?(\w+)")


def load(path):
    return json.loads(path.read_text())


def test_there_are_the_two_dashboards_with_unique_uids():
    uids = [load(p)["uid"] for p in DASHBOARDS]
    assert len(DASHBOARDS) == 2 and len(set(uids)) == 2


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_panels_tile_the_grid(path):
    panels = load(path)["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells = set()
    for panel in panels:
        box = panel["gridPos"]
        assert box["x"] >= 0 and box["w"] > 0 and box["x"] + box["w"] <= 24, panel["title"]
        mine = {(x, y) for x in range(box["x"], box["x"] + box["w"])
                for y in range(box["y"], box["y"] + box["h"])}
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_queries_use_the_data_source_variable_and_defined_variables(path):
    dashboard = load(path)
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert "datasource" in variables
    source = {"type": "prometheus", "uid": "${datasource}"}
    for panel in dashboard["panels"]:
        assert panel["datasource"] == source, panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(set(refs)) == len(refs) and panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == source
            assert set(VARIABLE.findall(target["expr"])) <= variables | BUILTIN_VARIABLES
    for annotation in dashboard["annotations"]["list"]:
        if "expr" in annotation:
            assert annotation["datasource"] == source
            assert set(VARIABLE.findall(annotation["expr"])) <= variables | BUILTIN_VARIABLES


def test_the_experiment_dashboard_marks_collapses_and_rollbacks():
    dashboard = load(CHART / "dashboards" / "experiment-overview.json")
    marked = {a["name"]: a["expr"] for a in dashboard["annotations"]["list"] if "expr" in a}
    assert "s3gan_collapse" in marked["Collapse"]
    assert "s3gan_rollbacks_total" in marked["Rollback"]
