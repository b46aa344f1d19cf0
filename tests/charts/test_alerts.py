"""The chart's alerts, unwrapped from the PrometheusRule, pass `promtool check rules` and the
unit tests in tests/charts/promtool/: each fires on the series that should fire it and stays
silent on healthy ones."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.charts.rendering import alert_groups, render
from tests.tools import promtool

PROMTOOL_TESTS = Path(__file__).parent / "promtool"
ALERTS = {"S3GANTrainingCollapse", "S3GANFIDRegression", "S3GANTrainingStalled",
          "S3GANExperimentFailed", "S3GANOperatorDown"}


def run_promtool(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(promtool()), *map(str, args)], capture_output=True, text=True,
                          timeout=60)


def write_rules(variant: str, folder: Path) -> Path:
    rules = folder / "rules.yaml"
    rules.write_text(yaml.safe_dump(alert_groups(render(variant))))
    return rules


def alerts(variant: str) -> list[dict]:
    return [r for g in alert_groups(render(variant))["groups"] for r in g["rules"]]


@pytest.mark.parametrize("variant", ["default", "custom"])
def test_rules_pass_promtool_check(variant, tmp_path):
    done = run_promtool("check", "rules", write_rules(variant, tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in done.stdout


def test_alerts_behave_as_their_unit_tests_say(tmp_path):
    write_rules("default", tmp_path)
    tests = []
    for test_file in sorted(PROMTOOL_TESTS.glob("*.test.yaml")):
        tests.append(Path(shutil.copy(test_file, tmp_path)))
    assert tests
    done = run_promtool("test", "rules", *tests)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_unit_tests_catch_a_wrong_threshold(tmp_path):
    # The custom values stall training after 600 s, not 1800: the stalled alert then fires at a
    # time the unit tests expect silence.
    write_rules("custom", tmp_path)
    test = shutil.copy(PROMTOOL_TESTS / "alerts.test.yaml", tmp_path)
    done = run_promtool("test", "rules", test)
    assert done.returncode != 0
    assert "S3GANTrainingStalled" in done.stdout + done.stderr


def test_every_alert_is_unit_tested_firing():
    fired = set()
    for test_file in PROMTOOL_TESTS.glob("*.test.yaml"):
        for test in yaml.safe_load(test_file.read_text())["tests"]:
            fired |= {case["alertname"] for case in test.get("alert_rule_test", [])
                      if case["exp_alerts"]}
    assert {rule["alert"] for rule in alerts("default")} == ALERTS == fired


def test_every_alert_has_a_severity_and_explains_itself():
    for rule in alerts("default"):
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_thresholds_come_from_the_values():
    rules = {r["alert"]: r["expr"] for r in alerts("custom")}
    assert "> 600" in rules["S3GANTrainingStalled"]
    assert "1.5 * min_over_time(s3gan_fid[2h])" in rules["S3GANFIDRegression"]
