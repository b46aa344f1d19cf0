"""manifests/install.yaml is the chart rendered with its default values, and the chart's CRD
(what `helm show crds` feeds to `kubectl apply --server-side` on upgrade) is manifests/crd.yaml."""

from __future__ import annotations

import yaml

from tests.charts.rendering import CHART, REPO, one, run_helm, template_text

INSTALL = REPO / "manifests" / "install.yaml"
CRD = REPO / "manifests" / "crd.yaml"
REGENERATE = ("helm template s3gan charts/s3gan --namespace s3gan-system --include-crds "
              "> manifests/install.yaml")


def documents(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def test_install_manifest_is_the_rendered_chart():
    assert INSTALL.read_text() == template_text(), f"manifests/install.yaml is stale: {REGENERATE}"


def test_install_manifest_namespaces_every_namespaced_object():
    cluster_scoped = {"CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}
    for doc in documents(INSTALL.read_text()):
        if doc["kind"] not in cluster_scoped:
            assert doc["metadata"]["namespace"] == "s3gan-system", doc["metadata"]["name"]


def test_crd_upgrade_path_applies_the_committed_crd():
    shown = documents(run_helm("show", "crds", str(CHART)))
    assert shown == documents(CRD.read_text())
    assert one(documents(INSTALL.read_text()), "CustomResourceDefinition") == shown[0]
