"""The generated CRD: committed copies current, valid and structural; its CEL rules agree
with the Python predicates on the same documents, transition rules included."""

from __future__ import annotations

from pathlib import Path

import celpy
import jsonschema
import kubernetes_validate
import pytest
import yaml
from s3gan_operator import crd
from s3gan_operator.schema import SchemaError, structural_schema

from s3gan.spec import IMMUTABLE_FIELDS, RULES, ExperimentSpec, Method

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "manifests" / "examples").glob("*.yaml"))
CEL = celpy.Environment()

BASE = {"dataset": {"uri": "s3://bucket/imagenet"}}
# Documents that break exactly one cross-field rule each, and ones that keep them all.
BAD = [
    {**BASE, "training": {"globalBatch": 100, "microBatch": 16}, "resources": {"workers": 4}},
    {**BASE, "training": {"globalBatch": 6}, "resources": {"workers": 4}},
    {**BASE, "training": {"globalBatch": 2}, "resources": {"workers": 4}},
    {**BASE, "pretraining": {"batchSize": 1024, "unlabelledPerBatch": 1536}},
    {**BASE, "pretraining": {"epochs": 40}},
    {**BASE, "pretraining": {"epochs": 60, "warmupEpochs": 60, "decayEpochs": [10]}},
    {**BASE, "resources": {"accelerator": {"kind": "gpu"}}},
    {**BASE, "resources": {"accelerator": {"kind": "cpu", "type": "nvidia-l4"}}},
    {**BASE, "resources": {"accelerator": {"kind": "tpu", "type": "tpu-v4-podslice"}}},
    {**BASE, "resources": {"accelerator": {"kind": "gpu", "type": "nvidia-l4",
                                           "topology": "2x2"}}},
    {**BASE, "sweep": {"grid": {"learningRate": [1, 2]}}},
    {**BASE, "sweep": {"grid": {"beta": []}}},
    {**BASE, "training": {"compile": True},
     "resources": {"accelerator": {"kind": "tpu", "type": "tpu-v4-podslice",
                                   "topology": "2x2x4"}}},
    {**BASE, "training": {"fusedAdam": True},
     "resources": {"accelerator": {"kind": "tpu", "type": "tpu-v4-podslice",
                                   "topology": "2x2x4"}}},
]
GOOD = [
    BASE,
    {**BASE, "training": {"globalBatch": 2048, "microBatch": 64}, "resources": {"workers": 8}},
    {**BASE, "resources": {"accelerator": {"kind": "tpu", "type": "tpu-v4-podslice",
                                           "topology": "2x2x4", "perWorker": 4},
                           "workers": 4}},
    {**BASE, "sweep": {"grid": {"beta": [0.25, 0.5, 1, 2], "method": ["s3gan", "s3gan-co"]}}},
    {**BASE, "training": {"compile": True, "precision": "bf16", "fusedAdam": True},
     "resources": {"accelerator": {"kind": "gpu", "type": "nvidia-h200-141gb"}}},
    {**BASE, "training": {"fusedAdam": False},
     "resources": {"accelerator": {"kind": "tpu", "type": "tpu-v4-podslice",
                                   "topology": "2x2x4"}}},
]


def _as_stored(document: dict) -> dict:
    """What the API server stores: defaults applied, nulls pruned."""
    return ExperimentSpec.model_validate(document).model_dump(
        by_alias=True, exclude_none=True, mode="json")


def _cel(rule: str, **activation) -> bool:
    program = CEL.program(CEL.compile(rule))
    return bool(program.evaluate({k: celpy.json_to_cel(v) for k, v in activation.items()}))


@pytest.fixture(scope="module")
def generated() -> dict:
    return crd.custom_resource_definition()


def _spec_schema(document: dict) -> dict:
    return document["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]


def test_committed_copies_are_current():
    assert crd.stale_outputs(REPO) == [], "run `python -m s3gan_operator.crd --write`"


def test_check_reports_a_stale_copy(tmp_path):
    crd.write_outputs(tmp_path)
    assert crd.main(["--check", "--root", str(tmp_path)]) == 0
    (tmp_path / crd.OUTPUTS[1]).write_text("stale")
    assert crd.main(["--check", "--root", str(tmp_path)]) == 1


def test_the_crd_is_a_valid_kubernetes_object():
    document = yaml.safe_load((REPO / crd.OUTPUTS[0]).read_text())
    kubernetes_validate.validate(document, "1.35", strict=True)


def _walk(node: dict, path: str):
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from _walk(child, f"{path}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from _walk(node[key], f"{path}[]")


def test_the_schema_is_structural(generated):
    root = generated["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    preserved = []
    for path, node in _walk(root, ""):
        assert not {"$ref", "$defs", "anyOf", "oneOf", "allOf", "title", "const",
                    "prefixItems", "nullable"} & node.keys(), path
        if node.get("x-kubernetes-preserve-unknown-fields"):
            preserved.append(path)
        else:
            assert node.get("type") in {"object", "array", "string", "integer", "number",
                                        "boolean"}, path
        if "exclusiveMinimum" in node:
            assert node["exclusiveMinimum"] is True and "minimum" in node, path
    assert preserved == []  # an untyped node is invisible to CEL on the API server


def test_a_structured_union_is_refused():
    from pydantic import BaseModel

    class Left(BaseModel):
        a: int

    class Right(BaseModel):
        b: str

    class Either(BaseModel):
        value: Left | Right

    with pytest.raises(SchemaError, match="value"):
        structural_schema(Either)


def test_enums_ranges_and_defaults_come_from_the_model(generated):
    spec = _spec_schema(generated)["properties"]
    assert spec["method"]["enum"] == [m.value for m in Method]
    assert spec["method"]["default"] == "s3gan"
    assert spec["labels"]["properties"]["fraction"] == {
        "type": "number", "minimum": 0.0, "exclusiveMinimum": True, "maximum": 1.0,
        "default": 0.1}
    assert spec["dataset"]["required"] == ["uri"]
    assert spec["training"]["properties"]["lambda"]["default"] == 0.2
    assert spec["training"]["default"] == {}
    assert "default" not in spec["training"]["properties"]["microBatch"]


@pytest.mark.parametrize("document", GOOD + [yaml.safe_load(p.read_text())["spec"]
                                             for p in EXAMPLES], ids=str)
def test_good_documents_pass_the_openapi_schema(generated, document):
    # OpenAPI 3.0 ranges (boolean exclusiveMinimum) are JSON Schema draft 4's.
    jsonschema.Draft4Validator(_spec_schema(generated)).validate(_as_stored(document))


@pytest.mark.parametrize("patch", [
    {"method": "s4gan"}, {"labels": {"fraction": 0}}, {"dataset": {"uri": ""}},
    {"dataset": {"uri": "x", "resolution": 48}}, {"training": {"diffAugment": ["blur"]}},
    {"resources": {"memoryPerWorker": "lots"}}, {"cluster": {"queueName": "Bad_Name"}},
], ids=str)
def test_bad_fields_fail_the_openapi_schema(generated, patch):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(_spec_schema(generated)).validate({**BASE, **patch})


@pytest.mark.parametrize("document", GOOD + BAD, ids=str)
def test_cel_rules_agree_with_the_python_predicates(generated, document):
    spec = ExperimentSpec.model_validate(document)
    stored = _as_stored(document)
    shipped = {v["rule"]: v for v in _spec_schema(generated)["x-kubernetes-validations"]}
    # cel-python lacks Kubernetes' string library (lowerAscii); the location rules are checked
    # on the real API server (test_crd_server), as every rule's compilation is.
    for rule in RULES:
        if rule.cel is None or "lowerAscii" in rule.cel:
            continue
        assert shipped[rule.cel]["fieldPath"] == rule.path.removeprefix("spec")
        assert _cel(rule.cel, self=stored) == rule.holds(spec), rule.message


def test_every_bad_document_breaks_a_rule_and_every_good_one_none():
    assert all(any(not r.holds(ExperimentSpec.model_validate(d)) for r in RULES) for d in BAD)
    assert all(all(r.holds(ExperimentSpec.model_validate(d)) for r in RULES) for d in GOOD)


@pytest.mark.parametrize("field", IMMUTABLE_FIELDS)
def test_immutable_fields_refuse_changes_and_allow_equal_updates(generated, field):
    rules = _spec_schema(generated)["properties"][field]["x-kubernetes-validations"]
    old = _as_stored({**BASE, "method": "s3gan"})
    changed = _as_stored({**BASE, "method": "s2gan", "dataset": {"uri": "s3://other"},
                          "model": {"ch": 64}})
    for rule in rules:
        assert _cel(rule["rule"], self=old[field], oldSelf=old[field])
        assert not _cel(rule["rule"], self=changed[field], oldSelf=old[field])


def test_mutable_fields_carry_no_transition_rule(generated):
    properties = _spec_schema(generated)["properties"]
    mutable = [f for f in properties if f not in IMMUTABLE_FIELDS]
    assert "suspend" in mutable
    assert all("x-kubernetes-validations" not in properties[f] for f in mutable)


@pytest.mark.parametrize("name, valid", [("s3gan-imagenet-10pct", True), ("a" * 63, True),
                                         ("a" * 64, False), ("with.dot", False),
                                         ("Upper", False), ("-leading", False)])
def test_the_name_rule_matches_the_python_metadata_model(generated, name, valid):
    from pydantic import ValidationError

    from s3gan.spec.model import Metadata

    (rule,) = generated["spec"]["versions"][0]["schema"]["openAPIV3Schema"][
        "x-kubernetes-validations"]
    assert _cel(rule["rule"], self={"metadata": {"name": name}}) is valid
    try:
        Metadata(name=name)
        python_valid = True
    except ValidationError:
        python_valid = False
    assert python_valid is valid
