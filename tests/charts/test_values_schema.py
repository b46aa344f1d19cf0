"""values.schema.json accepts the chart's values and rejects bad ones through helm itself,
naming the field: a typo never installs a half-configured operator."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from tests.charts.rendering import CHART, VARIANTS, HelmError, template_text

SCHEMA = json.loads((CHART / "values.schema.json").read_text())

BAD_VALUES = {
    "misspelled key": ({"image": {"operator": {"repostiory": "x"}}}, "/image/operator",
                       "repostiory"),
    "unknown top-level key": ({"replicas": 2}, "", "replicas"),
    "unknown watch mode": ({"watch": {"mode": "everywhere"}}, "/watch/mode", ""),
    "cluster mode with namespaces": ({"watch": {"mode": "cluster", "namespaces": ["team-a"]}},
                                     "/watch/namespaces", "maxItems"),
    "namespace not a DNS label": ({"watch": {"mode": "namespaced", "namespaces": ["Team_A"]}},
                                  "/watch/namespaces/0", ""),
    "health address not an address": ({"operator": {"healthAddress": "localhost"}},
                                      "/operator/healthAddress", ""),
    "metrics address not an address": ({"operator": {"metricsAddress": "*"}},
                                       "/operator/metricsAddress", ""),
    "allowed image with a wildcard": ({"ray": {"allowedImages": ["*"]}}, "/ray/allowedImages/0",
                                      ""),
    "monitoring switch as a string": ({"monitoring": {"enabled": "yes"}}, "/monitoring/enabled",
                                      ""),
    "interval without a unit": ({"monitoring": {"scrapeInterval": "30"}},
                                "/monitoring/scrapeInterval", ""),
    "FID ratio that always fires": ({"monitoring": {"alerts": {"fidRegressionRatio": 1}}},
                                    "/monitoring/alerts/fidRegressionRatio", ""),
    "YAML 1.1 off read as a boolean": ({"ray": {"auth": False}}, "/ray/auth", ""),
    "grace period shorter than Ray's drain": ({"ray": {"terminationGraceSeconds": 30}},
                                              "/ray/terminationGraceSeconds", ""),
    "misspelled resources key": ({"operator": {"resources": {"limit": {"cpu": "1"}}}},
                                 "/operator/resources", "limit"),
}


def test_schema_is_strict_everywhere():
    def walk(schema, where):
        if isinstance(schema, dict):
            if schema.get("type") == "object" and "properties" in schema:
                assert schema.get("additionalProperties") is False, where
            for key, value in schema.items():
                walk(value, f"{where}/{key}")
        elif isinstance(schema, list):
            for i, value in enumerate(schema):
                walk(value, f"{where}/{i}")

    walk(SCHEMA, "")


def test_defaults_and_every_variant_satisfy_the_schema():
    validator = jsonschema.Draft202012Validator(SCHEMA)
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert not list(validator.iter_errors(defaults))
    for values in VARIANTS.values():
        merged = merge(defaults, values)
        assert not list(validator.iter_errors(merged)), values


def merge(base, override):
    if isinstance(base, dict) and isinstance(override, dict):
        return {k: merge(base.get(k), override[k]) if k in override else base[k]
                for k in base.keys() | override.keys()}
    return override


@pytest.mark.parametrize("case", BAD_VALUES)
def test_helm_rejects_bad_values_naming_the_field(case):
    values, field, word = BAD_VALUES[case]
    with pytest.raises(HelmError) as error:
        template_text(values)
    message = str(error.value)
    assert "schema" in message
    assert f"at '{field}" in message
    assert word in message
