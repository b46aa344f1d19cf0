"""The chart lints strictly and renders what the operator needs: a restricted pod probed on
kopf's liveness endpoint, least-privilege RBAC in both watch modes, monitoring wired to the
operator's and the Ray pods' metrics, one dashboard ConfigMap per JSON file."""

from __future__ import annotations

import json

import pytest
import yaml
from kopf import cli as kopf_cli
from s3gan_operator.main import kopf_arguments
from s3gan_operator.render import Owner
from s3gan_operator.render import render as render_children
from s3gan_operator.settings import OperatorSettings

from s3gan.spec import ExperimentSpec
from tests.charts.rendering import (
    CHART,
    MONITORING_GROUP,
    NAMESPACE,
    RELEASE,
    VARIANTS,
    HelmError,
    of_kind,
    one,
    render,
    run_helm,
)

APP_VERSION = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]


def container(docs):
    (operator,) = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    return operator


def allows(rules, group, resource, verb):
    return any(group in r.get("apiGroups", []) and resource in r.get("resources", [])
               and verb in r.get("verbs", []) and not r.get("resourceNames")
               for r in rules)


def rbac_objects(docs):
    return [d for d in docs if d["kind"] in ("Role", "ClusterRole")]


@pytest.mark.parametrize("variant", VARIANTS)
def test_lint_strict(variant):
    run_helm("lint", "--strict", str(CHART), "--namespace", NAMESPACE, values=VARIANTS[variant])


def test_operator_pod_meets_the_restricted_pod_security_standard():
    docs = render("default")
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = container(docs)["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert container(docs)["resources"]["limits"]["memory"]


@pytest.mark.parametrize("variant, port", [("default", 8080), ("custom", 8181)])
def test_probes_hit_the_kopf_liveness_endpoint(variant, port):
    operator = container(render(variant))
    assert f"--liveness=http://0.0.0.0:{port}/healthz" in operator["args"]
    ports = {p["name"]: p["containerPort"] for p in operator["ports"]}
    assert ports == {"health": port, "metrics": 9191 if variant == "custom" else 9090}
    for probe in ("livenessProbe", "readinessProbe"):
        assert operator[probe]["httpGet"] == {"path": "/healthz", "port": "health"}


def test_operator_runs_standalone_as_one_replica():
    docs = render("default")
    deployment = one(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert container(docs)["command"] == ["s3gan-operator"]
    assert "--standalone" in container(docs)["args"]


def test_watch_mode_decides_the_namespaces_flags():
    cluster = container(render("cluster"))["args"]
    assert "--all-namespaces" in cluster
    assert not [a for a in cluster if a.startswith("--namespace")]
    namespaced = container(render("namespaced"))["args"]
    assert "--all-namespaces" not in namespaced
    assert [a for a in namespaced if a.startswith("--namespace")] == [
        "--namespace=team-a", "--namespace=team-b"]
    # The default: namespaced, serving the release namespace only.
    default = container(render("default"))["args"]
    assert [a for a in default if a.startswith("--namespace")] == [f"--namespace={NAMESPACE}"]
    assert "--all-namespaces" not in default


def test_images_default_to_the_app_version():
    operator = container(render("default"))
    assert operator["image"] == f"ghcr.io/s3gan/operator:{APP_VERSION}"
    ray_image = {"name": "S3GAN_RAY_IMAGE", "value": f"ghcr.io/s3gan/ray:{APP_VERSION}"}
    assert ray_image in operator["env"]


def test_custom_images_pull_secrets_and_scheduling():
    docs = render("custom")
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    operator = container(docs)
    assert operator["image"] == "registry.example.com/ml/s3gan-operator:1.2.3"
    assert operator["imagePullPolicy"] == "Always"
    assert {"name": "S3GAN_RAY_IMAGE", "value": "registry.example.com/ml/s3gan-ray:1.2.3-tpu"} \
        in operator["env"]
    assert pod["imagePullSecrets"] == [{"name": "registry-credentials"}]
    assert pod["serviceAccountName"] == "trainer-operator"
    assert pod["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert pod["priorityClassName"] == "ml-critical"
    assert one(docs, "ServiceAccount")["metadata"]["name"] == "trainer-operator"


def _operator_cluster_role(docs):
    (role,) = [d for d in of_kind(docs, "ClusterRole")
               if d["metadata"]["name"] == f"{RELEASE}-operator"]
    return role


def test_cluster_mode_grants_through_one_cluster_role():
    docs = render("cluster")
    assert not of_kind(docs, "Role") and not of_kind(docs, "RoleBinding")
    rules = _operator_cluster_role(docs)["rules"]
    assert allows(rules, "s3gan.io", "s3ganexperiments", "watch")
    assert allows(rules, "ray.io", "rayjobs", "create")
    binding = one(docs, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == _operator_cluster_role(docs)["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": f"{RELEASE}-operator", "namespace": NAMESPACE}]


def test_namespaced_mode_grants_only_in_the_watched_namespaces():
    docs = render("namespaced")
    roles = of_kind(docs, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    bindings = of_kind(docs, "RoleBinding")
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["team-a", "team-b"]
    for binding in bindings:
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                      "name": roles[0]["metadata"]["name"]}
        assert binding["subjects"][0]["namespace"] == NAMESPACE
    # Cluster-wide, only what kopf needs to discover its resources.
    assert _operator_cluster_role(docs)["rules"] == [{
        "apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
        "verbs": ["get", "list", "watch"]}]


# Exactly what the operator does; the real API server checks the same (tests/charts/
# test_operator_rbac.py, `kubectl auth can-i --list` as the operator's ServiceAccount).
NEEDED = {
    ("s3gan.io", "s3ganexperiments"): ("get", "list", "watch", "patch"),
    ("s3gan.io", "s3ganexperiments/status"): ("get", "patch"),
    ("s3gan.io", "s3ganexperiments/finalizers"): ("update",),
    ("ray.io", "rayjobs"): ("get", "list", "watch", "create", "patch"),
    ("", "configmaps"): ("get", "create", "patch"),
    ("", "serviceaccounts"): ("get", "create"),
    ("rbac.authorization.k8s.io", "roles"): ("get", "create"),
    ("rbac.authorization.k8s.io", "rolebindings"): ("get", "create"),
    ("networking.k8s.io", "networkpolicies"): ("get", "create"),
    ("", "events"): ("create",),
    ("apiextensions.k8s.io", "customresourcedefinitions"): ("get", "list", "watch"),
}


@pytest.mark.parametrize("variant", ["default", "namespaced", "cluster"])
def test_operator_rules_are_exactly_its_work(variant):
    docs = render(variant)
    operator_roles = [d for d in rbac_objects(docs) if d["metadata"]["name"].endswith("-operator")]
    granted = {(g, r, v) for role in operator_roles for rule in role["rules"]
               for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    assert granted == {(g, r, v) for (g, r), verbs in NEEDED.items() for v in verbs}


def test_namespace_admins_may_grant_the_use_of_their_objects():
    (use,) = [d for d in of_kind(render("default"), "ClusterRole")
              if d["metadata"]["name"] == f"{RELEASE}-use"]
    assert use["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-admin"] == "true"
    assert use["rules"] == [{"apiGroups": ["s3gan.io"], "resources": ["serviceaccounts", "secrets"],
                             "verbs": ["use"]}]


@pytest.mark.parametrize("variant", VARIANTS)
def test_rbac_has_no_wildcards_and_no_escalation_verbs(variant):
    for role in rbac_objects(render(variant)):
        for rule in role["rules"]:
            fields = rule["apiGroups"] + rule["resources"] + rule["verbs"]
            assert "*" not in fields, role["metadata"]["name"]
            assert not {"bind", "escalate", "impersonate"} & set(rule["verbs"])
            assert "secrets" not in rule["resources"] or rule["apiGroups"] == ["s3gan.io"]


def test_allows_is_exact():
    rules = [{"apiGroups": ["s3gan.io"], "resources": ["s3ganexperiments/status"],
              "verbs": ["get"], "resourceNames": ["one"]}]
    assert not allows(rules, "s3gan.io", "s3ganexperiments/status", "get")
    assert not allows([{**rules[0], "resourceNames": []}], "s3gan.io", "s3ganexperiments", "get")
    assert allows([{**rules[0], "resourceNames": []}], "s3gan.io", "s3ganexperiments/status", "get")


def test_service_monitor_scrapes_the_operator_metrics_port():
    docs = render("default")
    service = one(docs, "Service")
    pod_labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    container_ports = {p["name"] for p in container(docs)["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= container_ports
    monitor = one(docs, "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["metrics"]
    assert "metrics" in {p["name"] for p in service["spec"]["ports"]}


@pytest.mark.parametrize("variant, namespaces", [
    ("cluster", {"any": True}), ("namespaced", {"matchNames": ["team-a", "team-b"]}),
    ("default", {"matchNames": [NAMESPACE]})])
def test_pod_monitor_scrapes_the_ray_pods(variant, namespaces):
    monitor = one(render(variant), "PodMonitor")
    assert monitor["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/part-of": "s3gan"}}
    assert monitor["spec"]["namespaceSelector"] == namespaces
    assert [e["port"] for e in monitor["spec"]["podMetricsEndpoints"]] == ["s3gan-metrics"]


@pytest.mark.parametrize("variant, release", [("default", "kube-prometheus-stack"),
                                              ("custom", "prometheus")])
def test_monitoring_objects_carry_the_release_label(variant, release):
    monitoring = [d for d in render(variant) if d["apiVersion"] == MONITORING_GROUP]
    assert {d["kind"] for d in monitoring} == {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
    for doc in monitoring:
        assert doc["metadata"]["labels"]["release"] == release


def test_monitoring_disabled_renders_the_operator_alone():
    docs = render("monitoring-disabled")
    assert not [d for d in docs if d["apiVersion"] == MONITORING_GROUP]
    assert not of_kind(docs, "ConfigMap")
    assert {d["kind"] for d in docs} == {
        "CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
        "Role", "RoleBinding", "Service", "Deployment"}


@pytest.mark.parametrize("variant, namespace", [("default", NAMESPACE), ("custom", "grafana")])
def test_one_dashboard_config_map_per_json_file(variant, namespace):
    maps = of_kind(render(variant), "ConfigMap")
    files = sorted(p.name for p in (CHART / "dashboards").glob("*.json"))
    assert sorted(name for m in maps for name in m["data"]) == files
    uids = set()
    for config_map in maps:
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert config_map["metadata"]["namespace"] == namespace
        ((name, text),) = config_map["data"].items()
        assert json.loads(text) == json.loads((CHART / "dashboards" / name).read_text())
        uids.add(json.loads(text)["uid"])
    assert len(uids) == len(files)


def test_notes_tell_about_the_tpu_webhook_and_the_crd_upgrade():
    out = run_helm("install", RELEASE, str(CHART), "--dry-run=client", "--namespace", NAMESPACE)
    notes = out[out.index("NOTES:"):]
    assert "TPU_WORKER_HOSTNAMES" in notes and "TPU_WORKER_ID" in notes
    assert "helm show crds" in notes and "kubectl apply --server-side" in notes
    assert "release=kube-prometheus-stack" in notes


@pytest.mark.parametrize("variant", ["default", "custom"])
def test_the_operator_accepts_the_environment_the_chart_sets(variant):
    docs = render(variant)
    operator = container(docs)
    env = {e["name"]: e["value"] for e in operator["env"]}
    settings = OperatorSettings.from_env(env)
    values = VARIANTS[variant].get("ray", {})
    assert settings.ray_image == next(e["value"] for e in operator["env"]
                                      if e["name"] == "S3GAN_RAY_IMAGE")
    assert settings.ray_version == values.get("version", "2.60.0")
    assert settings.ray_auth == values.get("auth", "token")
    assert settings.ray_network_policy == values.get("networkPolicy", "off")
    assert settings.termination_grace_seconds == values.get("terminationGraceSeconds", 120)
    metrics = next(p for p in operator["ports"] if p["name"] == "metrics")
    assert settings.metrics_port == metrics["containerPort"]
    listen = VARIANTS[variant].get("operator", {})
    assert settings.metrics_address == listen.get("metricsAddress", "0.0.0.0")
    assert settings.operator_namespace == NAMESPACE
    policy = VARIANTS[variant].get("networkPolicy", {})
    assert settings.network_policy is policy.get("enabled", True)
    assert settings.monitoring_namespace == policy.get("monitoringNamespace", "monitoring")
    assert settings.image_allowed(settings.ray_image)
    assert settings.image_allowed("registry.example.com/ml/other:1") is (variant == "custom")


# Where each kind the operator creates lives in the API.
RESOURCES = {"ConfigMap": ("", "configmaps"), "ServiceAccount": ("", "serviceaccounts"),
             "Role": ("rbac.authorization.k8s.io", "roles"),
             "RoleBinding": ("rbac.authorization.k8s.io", "rolebindings"),
             "NetworkPolicy": ("networking.k8s.io", "networkpolicies"),
             "RayJob": ("ray.io", "rayjobs")}


@pytest.mark.parametrize("variant", ["default", "namespaced", "cluster"])
def test_rbac_covers_what_the_operator_renders(variant):
    spec = ExperimentSpec.model_validate({"dataset": {"uri": "s3://bucket/imagenet"}})
    owner = Owner("imagenet", "team-a", "6f1c2b0e-0000-4000-8000-000000000001")
    children = render_children(owner, spec, OperatorSettings())
    rules = [r for role in rbac_objects(render(variant)) for r in role["rules"]]
    for child in [c for wave in children.waves() for c in wave]:
        group, resource = RESOURCES[child["kind"]]
        for verb in ("get", "create"):
            assert allows(rules, group, resource, verb), (child["kind"], verb)
    # Creating and binding the reporter's Role without bind/escalate: hold each of its rules.
    for granted in children.role["rules"]:
        for group in granted["apiGroups"]:
            for resource in granted["resources"]:
                for verb in granted["verbs"]:
                    assert allows(rules, group, resource, verb), (group, resource, verb)


@pytest.mark.parametrize("variant, clusterwide, namespaces", [
    ("default", False, (NAMESPACE,)), ("namespaced", False, ("team-a", "team-b")),
    ("cluster", True, ()), ("custom", False, (NAMESPACE,))])
def test_kopf_parses_the_operator_arguments(variant, clusterwide, namespaces):
    operator = container(render(variant))
    assert operator["command"] == ["s3gan-operator"]
    # What s3gan-operator hands to kopf, parsed by kopf's own command line (not run).
    run, *arguments = kopf_arguments(operator["args"])
    parsed = kopf_cli.run.make_context(run, arguments).params
    assert parsed["standalone"] is True
    assert parsed["clusterwide"] is clusterwide
    assert parsed["namespaces"] == namespaces
    port = next(p["containerPort"] for p in operator["ports"] if p["name"] == "health")
    address = VARIANTS[variant].get("operator", {}).get("healthAddress", "0.0.0.0")
    assert parsed["liveness_endpoint"] == f"http://{address}:{port}/healthz"


def test_the_chart_refuses_kubernetes_older_than_its_floor():
    run_helm("template", RELEASE, str(CHART), "--kube-version", "1.28.0")
    with pytest.raises(HelmError, match="kubeVersion"):
        run_helm("template", RELEASE, str(CHART), "--kube-version", "1.27.9")
