"""The chart's RBAC on the real API server, asked as the operator itself (its ServiceAccount's
token): exactly its work in the namespaces it serves, nothing but discovery elsewhere, and no
way to touch another namespace's ConfigMaps, ServiceAccounts or RBAC objects."""

from __future__ import annotations

import pytest

from benchmarks.support.kube_control_plane import WATCHED

# Every authenticated identity may ask these about itself.
SELF_REVIEWS = {
    "selfsubjectreviews.authentication.k8s.io": {"create"},
    "selfsubjectaccessreviews.authorization.k8s.io": {"create"},
    "selfsubjectrulesreviews.authorization.k8s.io": {"create"},
}
DISCOVERY = {"customresourcedefinitions.apiextensions.k8s.io": {"get", "list", "watch"}}
SERVED = {
    "s3ganexperiments.s3gan.io": {"get", "list", "watch", "patch"},
    "s3ganexperiments.s3gan.io/status": {"get", "patch"},
    "s3ganexperiments.s3gan.io/finalizers": {"update"},
    "rayjobs.ray.io": {"get", "list", "watch", "create", "patch"},
    "configmaps": {"get", "create", "patch"},
    "serviceaccounts": {"get", "create"},
    "roles.rbac.authorization.k8s.io": {"get", "create"},
    "rolebindings.rbac.authorization.k8s.io": {"get", "create"},
    "networkpolicies.networking.k8s.io": {"get", "create"},
    "events": {"create"},
}


USE_GRANTS = ("serviceaccounts.s3gan.io", "secrets.s3gan.io")


def can_i_list(kube, kubeconfig, namespace: str) -> dict[str, set[str]]:
    """`kubectl auth can-i --list` as the kubeconfig's identity: resource → verbs."""
    table = kube.kubectl("auth", "can-i", "--list", "-n", namespace,
                         kubeconfig=kubeconfig).stdout.splitlines()[1:]
    rules: dict[str, set[str]] = {}
    for line in table:
        if line.startswith(" "):
            continue  # non-resource URLs (discovery, health), open to every identity
        resource, _urls, names, verbs = line.split(maxsplit=3)
        if names != "[]":
            # Per-object grants come only from namespace admins (`use`, docs/operator.md); the
            # chart grants none.
            assert verbs == "[use]" and resource in USE_GRANTS, line
            continue
        rules.setdefault(resource, set()).update(verbs.strip("[]").split())
    return rules


@pytest.mark.parametrize("namespace", WATCHED)
def test_in_a_served_namespace_the_operator_may_do_exactly_its_work(kube, operator_kubeconfig,
                                                                   namespace):
    assert can_i_list(kube, operator_kubeconfig, namespace) == {
        **SELF_REVIEWS, **DISCOVERY, **SERVED}


@pytest.mark.parametrize("namespace", ["kube-system", "default"])
def test_elsewhere_the_operator_may_only_discover(kube, operator_kubeconfig, namespace):
    assert can_i_list(kube, operator_kubeconfig, namespace) == {**SELF_REVIEWS, **DISCOVERY}


def test_the_operator_cannot_patch_kube_system_or_delete_anything(kube, operator_kubeconfig):
    kube.kubectl("create", "configmap", "aws-auth", "-n", "kube-system")
    patched = kube.kubectl("patch", "configmap", "aws-auth", "-n", "kube-system", "--type=merge",
                           "-p", '{"data": {"mapRoles": "x"}}', "--dry-run=server",
                           kubeconfig=operator_kubeconfig, check=False)
    assert patched.returncode != 0 and "forbidden" in patched.stderr
    for what in ("configmaps", "rayjobs.ray.io", "rolebindings.rbac.authorization.k8s.io"):
        answer = kube.kubectl("auth", "can-i", "delete", what, "-n", WATCHED[0],
                              kubeconfig=operator_kubeconfig, check=False)
        assert answer.stdout.strip() == "no", what
    created = kube.kubectl("auth", "can-i", "create", "rayjobs.ray.io", "-n", "kube-system",
                           kubeconfig=operator_kubeconfig, check=False)
    assert created.stdout.strip() == "no"


def test_cluster_mode_grants_the_same_work_everywhere_only_when_asked(kube, tmp_path):
    from benchmarks.support.kube_control_plane import CHART

    kube.helm("install", "wide", str(CHART), "--namespace", "s3gan-wide", "--create-namespace",
              "--wait=hookOnly", "--set=watch.mode=cluster")
    try:
        token = kube.token_kubeconfig("wide-s3gan-operator", "s3gan-wide",
                                      tmp_path / "kubeconfig")
        assert can_i_list(kube, token, "kube-system") == {**SELF_REVIEWS, **DISCOVERY, **SERVED}
    finally:
        kube.helm("uninstall", "wide", "--namespace", "s3gan-wide")
