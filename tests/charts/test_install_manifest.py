"""manifests/install.yaml is the chart rendered with its default values, without the CRD, which
is manifests/crd.yaml: the chart's crds/, what `helm show crds` feeds to
`kubectl apply --server-side` before each upgrade."""

from __future__ import annotations

import yaml

from tests.charts.rendering import CHART, REPO, one, render, run_helm, template_text

INSTALL = REPO / "manifests" / "install.yaml"
CRD = REPO / "manifests" / "crd.yaml"
REGENERATE = "helm template s3gan charts/s3gan --namespace s3gan-system > manifests/install.yaml"


def documents(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def test_install_manifest_is_the_rendered_chart():
    rendered = template_text(include_crds=False)
    assert INSTALL.read_text() == rendered, f"manifests/install.yaml is stale: {REGENERATE}"


def test_install_manifest_namespaces_every_namespaced_object():
    cluster_scoped = {"ClusterRole", "ClusterRoleBinding"}
    kinds = set()
    for doc in documents(INSTALL.read_text()):
        kinds.add(doc["kind"])
        if doc["kind"] not in cluster_scoped:
            assert doc["metadata"]["namespace"] == "s3gan-system", doc["metadata"]["name"]
    assert "CustomResourceDefinition" not in kinds and "Deployment" in kinds


def test_crd_upgrade_path_applies_the_committed_crd():
    shown = documents(run_helm("show", "crds", str(CHART)))
    assert shown == documents(CRD.read_text())
    assert one(render("default"), "CustomResourceDefinition") == shown[0]
