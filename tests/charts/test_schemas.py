"""Every rendered object is one an API server accepts: Kubernetes' own kinds against the
Kubernetes OpenAPI schemas (kubernetes-validate, strict), and the ServiceMonitor, PodMonitor and
PrometheusRule against prometheus-operator's CRDs, made strict the same way — a real API server
silently prunes a misspelled field, which would leave a monitor that scrapes nothing."""

from __future__ import annotations

import copy
import functools
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.charts.rendering import MONITORING_GROUP, SHARED, VARIANTS, one, render

PROMETHEUS_CRDS = SHARED / "prometheus-operator-crds"
# The chart's kubeVersion floor and the newest schemas kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.28", kubernetes_validate.utils.latest_version())


def strict(schema: Any) -> Any:
    """A copy of an OpenAPI schema in which every object that lists its properties allows no
    others (unless it says it preserves unknown fields)."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if ("properties" in out and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


@functools.cache
def monitoring_validators() -> dict[str, jsonschema.Draft202012Validator]:
    if not PROMETHEUS_CRDS.is_dir():
        pytest.skip(f"prometheus-operator CRDs not found at {PROMETHEUS_CRDS}")
    validators = {}
    for path in sorted(PROMETHEUS_CRDS.glob("monitoring.coreos.com_*.yaml")):
        crd = yaml.safe_load(path.read_text())
        (v1,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
        schema = strict(v1["schema"]["openAPIV3Schema"])
        validators[crd["spec"]["names"]["kind"]] = jsonschema.Draft202012Validator(schema)
    return validators


def problems(validator: jsonschema.Validator, doc: dict[str, Any]) -> list[str]:
    return [f"{doc['kind']} {doc['metadata']['name']} at /{'/'.join(map(str, e.absolute_path))}: "
            f"{e.message}" for e in validator.iter_errors(doc)]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_kubernetes_objects_validate(variant, version):
    native = [d for d in render(variant) if d["apiVersion"] != MONITORING_GROUP]
    assert native
    for doc in native:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{doc['kind']} {doc['metadata']['name']} (Kubernetes {version}) at "
                        f"/{'/'.join(map(str, error.path))}: {error.message}")


@pytest.mark.parametrize("variant", VARIANTS)
def test_monitoring_objects_validate_against_prometheus_operator_crds(variant):
    validators = monitoring_validators()
    for doc in [d for d in render(variant) if d["apiVersion"] == MONITORING_GROUP]:
        assert not problems(validators[doc["kind"]], doc)


def test_a_misspelled_monitor_field_is_caught():
    monitor = one(render("default"), "PodMonitor")
    endpoint = monitor["spec"]["podMetricsEndpoints"][0]
    endpoint["prot"] = endpoint.pop("port")
    found = problems(monitoring_validators()["PodMonitor"], monitor)
    assert found and "'prot'" in found[0]
    # The CRD's schema as published accepts it: the API server would prune the field.
    crd = yaml.safe_load((PROMETHEUS_CRDS / "monitoring.coreos.com_podmonitors.yaml").read_text())
    loose = jsonschema.Draft202012Validator(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
    assert not problems(loose, monitor)


def test_a_misspelled_kubernetes_field_is_caught():
    deployment = copy.deepcopy(one(render("default"), "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def test_strict_keeps_open_what_preserves_unknown_fields():
    schema = {"type": "object", "properties": {
        "closed": {"type": "object", "properties": {"a": {"type": "string"}}},
        "open": {"type": "object", "properties": {"a": {"type": "string"}},
                 "x-kubernetes-preserve-unknown-fields": True},
        "map": {"type": "object", "additionalProperties": {"type": "string"}}}}
    validator = jsonschema.Draft202012Validator(strict(schema))
    assert not list(validator.iter_errors({"open": {"b": 1}, "map": {"k": "v"}}))
    assert list(validator.iter_errors({"closed": {"b": 1}}))
    assert list(validator.iter_errors({"other": 1}))
