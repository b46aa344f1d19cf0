"""The CRD on the real API server: it installs (every CEL rule compiles), every example is
accepted, bad documents are refused naming the field, the whole spec is bounded, and a newer
CRD applies over an older one with stored objects."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from s3gan_operator import crd

from benchmarks.support.kube_control_plane import WATCHED

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "manifests" / "examples").glob("*.yaml"))
NS = WATCHED[0]


def _experiment(name: str, **spec) -> dict:
    return {"apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"dataset": {"uri": "s3://bucket/imagenet"}, **spec}}


def _dry_run(kube, document: dict):
    return kube.kubectl("create", "--dry-run=server", "-f", "-", check=False,
                        stdin=json.dumps(document))


def test_the_crd_is_established_with_every_rule(kube):
    found = json.loads(kube.kubectl("get", "crd", f"{crd.PLURAL}.{crd.GROUP}", "-o",
                                    "json").stdout)
    conditions = {c["type"]: c["status"] for c in found["status"]["conditions"]}
    assert conditions["Established"] == "True" and conditions["NamesAccepted"] == "True"
    served = found["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    shipped = crd.spec_schema()
    assert served["x-kubernetes-validations"] == shipped["x-kubernetes-validations"]
    assert served["properties"]["sweep"]["properties"]["grid"] == crd.grid_schema()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_is_accepted(kube, path):
    document = yaml.safe_load(path.read_text())
    document["metadata"]["namespace"] = NS
    done = _dry_run(kube, document)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("spec, named", [
    ({"sweep": {"grid": {"learningRate": [1, 2]}}}, 'unknown field "spec.sweep.grid.learningRate"'),
    ({"sweep": {"grid": {"beta": []}}}, "spec.sweep.grid.beta"),
    ({"sweep": {"grid": {"beta": ["high"]}}}, "spec.sweep.grid.beta[0]"),
    ({"sweep": {"grid": {"fraction": [0.1, 1.5]}}}, "spec.sweep.grid.fraction[1]"),
    ({"sweep": {"grid": {"method": ["s4gan"]}}}, "spec.sweep.grid.method[0]"),
    ({"sweep": {"grid": {"seed": [0.5]}}}, "spec.sweep.grid.seed[0]"),
    ({"storage": {"region": "r" * 64}}, "spec.storage.region"),
    ({"cluster": {"image": "i" * 513}}, "spec.cluster.image"),
    ({"dataset": {"uri": "s3://" + "b" * 2048}}, "spec.dataset.uri"),
    ({"dataset": {"uri": "s3://AKIA:secret@bucket/x"}}, "dataset.uri must carry no credentials"),
    ({"storage": {"endpoint": "https://user:pw@s3.example.com"}}, "storage.endpoint must carry"),
    ({"storage": {"endpoint": "http://169.254.169.254/latest"}}, "storage.endpoint must carry"),
    ({"storage": {"endpoint": "http://[fd00:ec2::254]/"}}, "storage.endpoint must carry"),
    ({"storage": {"runs": "gs://x", "endpoint": "http://Metadata.Google.Internal"}},
     "storage.endpoint must carry"),
    ({"evaluation": {"inceptionWeights": "https://k:s@example.com/w.pt"}},
     "evaluation.inceptionWeights must carry"),
], ids=str)
def test_bad_documents_are_refused_naming_the_field(kube, spec, named):
    done = _dry_run(kube, _experiment("bad", **spec))
    assert done.returncode != 0 and named in done.stderr, done.stderr


def test_an_endpoint_without_credentials_is_accepted(kube):
    spec = {"storage": {"endpoint": "https://storage.googleapis.com", "region": "auto"}}
    assert _dry_run(kube, _experiment("fine", **spec)).returncode == 0


def test_the_largest_spec_the_schema_admits_is_far_below_the_servers_limits():
    """Every string and list is bounded, so the spec is: its worst case, summed from the
    schema, must fit the 256 KiB `kubectl apply` annotation and the 1 MiB ConfigMap."""

    def largest(node: dict) -> int:
        kind = node.get("type")
        if kind == "string":
            return node.get("maxLength", 0) * 4 + 2 if "enum" not in node else max(
                len(v) for v in node["enum"]) + 2
        if kind == "array":
            return node["maxItems"] * (largest(node["items"]) + 1)
        if kind == "object":
            assert "additionalProperties" not in node, "an open map is unbounded"
            return sum(len(k) + 3 + largest(v) for k, v in node["properties"].items())
        return 24  # a number or a boolean
    for path, node in _strings(crd.spec_schema()):
        assert "maxLength" in node or "enum" in node or "pattern" in node, path
    assert largest(crd.spec_schema()) < 200 * 1024


def _strings(node: dict, path: str = "spec"):
    if node.get("type") == "string":
        yield path, node
    for name, child in node.get("properties", {}).items():
        yield from _strings(child, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from _strings(node["items"], f"{path}[]")


def test_a_newer_crd_applies_over_an_older_one_with_stored_objects(kube):
    """The previous release's shape (no location rules, no string bounds) with an object
    stored under it; the committed CRD applied over it keeps the object readable and
    updatable, and `helm upgrade` of the chart goes through."""
    older = copy.deepcopy(crd.custom_resource_definition())
    spec = older["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["x-kubernetes-validations"] = [v for v in spec["x-kubernetes-validations"]
                                        if "must carry no credentials" not in v["message"]]
    spec["properties"]["storage"]["properties"]["region"].pop("maxLength")
    try:
        kube.apply([older], "--force-conflicts")
        kube.apply([_experiment("stored", storage={"region": "europe-west4"})])
        kube.kubectl("apply", "--server-side", "--force-conflicts", "-f",
                     str(REPO / "manifests" / "crd.yaml"))
        kube.kubectl("patch", "s3ganexperiment", "stored", "-n", NS, "--type=merge",
                     "-p", '{"spec": {"suspend": true}}')
        got = json.loads(kube.kubectl("get", "s3ganexperiment", "stored", "-n", NS, "-o",
                                      "json").stdout)
        assert got["spec"]["suspend"] is True
        assert got["spec"]["storage"]["region"] == "europe-west4"
        from benchmarks.support.kube_control_plane import CHART, OPERATOR_NAMESPACE, RELEASE
        kube.helm("upgrade", RELEASE, str(CHART), "--namespace", OPERATOR_NAMESPACE,
                  "--reuse-values", "--wait=hookOnly")
    finally:
        kube.kubectl("apply", "--server-side", "--force-conflicts", "-f",
                     str(REPO / "manifests" / "crd.yaml"))
        kube.kubectl("delete", "s3ganexperiment", "stored", "-n", NS, "--wait=hookOnly",
                     check=False)


def _python_accepts(spec: dict) -> bool:
    from s3gan.spec import RULES, ExperimentSpec

    parsed = ExperimentSpec.model_validate(spec)
    return all(rule.holds(parsed) for rule in RULES)


def test_the_server_refuses_exactly_what_the_python_rules_refuse(kube):
    from tests.operator.test_crd import BAD, GOOD

    located = [{**GOOD[0], "storage": {"endpoint": "http://metadata/computeMetadata"}},
               {**GOOD[0], "storage": {"runs": "s3://key:secret@bucket/runs"}}]
    for i, spec in enumerate(GOOD + BAD + located):
        document = {**_experiment(f"agree-{i}"), "spec": spec}
        accepted = _dry_run(kube, document).returncode == 0
        assert accepted == _python_accepts(spec), spec
