"""No confused deputy: a user who may only create S3GANExperiments (impersonated on the real
API server) gets no pod running as a powerful ServiceAccount, no foreign image and no unmarked
Secret; only what a namespace admin allowed (a `use` grant to the operator) is borrowed."""

from __future__ import annotations

import pytest
from kubernetes.dynamic.exceptions import ForbiddenError

from benchmarks.support.kube_api import Api
from benchmarks.support.kube_control_plane import OPERATOR_ACCOUNT, OPERATOR_NAMESPACE, WATCHED
from tests.fixtures.kube_clients import Operator, until

NS = WATCHED[0]
RBAC = "rbac.authorization.k8s.io"


def _experiment(name: str, **spec) -> dict:
    return {"apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"dataset": {"uri": "s3://bucket/fashion-mnist", "resolution": 32,
                                 "numClasses": 10}, "training": {"globalBatch": 64}, **spec}}


def _binding(name: str, role_kind: str, role: str, subject: dict, namespace: str | None = NS):
    kind = "RoleBinding" if namespace else "ClusterRoleBinding"
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": metadata,
            "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role},
            "subjects": [subject]}


def _use_grant(accounts: list[str], secrets: list[str]) -> list[dict]:
    """What a namespace admin writes to let experiments use these objects."""
    role = {"apiVersion": f"{RBAC}/v1", "kind": "Role",
            "metadata": {"name": "s3gan-use", "namespace": NS},
            "rules": [{"apiGroups": ["s3gan.io"], "resources": ["serviceaccounts"],
                       "resourceNames": accounts, "verbs": ["use"]},
                      {"apiGroups": ["s3gan.io"], "resources": ["secrets"],
                       "resourceNames": secrets, "verbs": ["use"]}]}
    operator = {"kind": "ServiceAccount", "name": OPERATOR_ACCOUNT,
                "namespace": OPERATOR_NAMESPACE}
    return [role, _binding("s3gan-use", "Role", "s3gan-use", operator)]


@pytest.fixture(scope="module")
def world(kube, operator_kubeconfig):
    """alice may only create and read experiments in NS; nadia is NS's admin; NS holds a
    ServiceAccount bound to cluster-admin and two Secrets."""
    admin = Api(kube.kubeconfig)
    for name in ("powerful", "trainer"):
        admin.create({"apiVersion": "v1", "kind": "ServiceAccount",
                      "metadata": {"name": name, "namespace": NS}})
    admin.create(_binding("powerful-is-admin", "ClusterRole", "cluster-admin",
                          {"kind": "ServiceAccount", "name": "powerful", "namespace": NS},
                          namespace=None))
    for name in ("db-creds", "storage-keys"):
        admin.create({"apiVersion": "v1", "kind": "Secret",
                      "metadata": {"name": name, "namespace": NS},
                      "stringData": {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}})
    admin.create({"apiVersion": f"{RBAC}/v1", "kind": "Role",
                  "metadata": {"name": "experimenter", "namespace": NS},
                  "rules": [{"apiGroups": ["s3gan.io"], "resources": ["s3ganexperiments"],
                             "verbs": ["create", "get", "list", "watch"]}]})
    admin.create(_binding("alice", "Role", "experimenter",
                          {"apiGroup": RBAC, "kind": "User", "name": "alice"}))
    admin.create(_binding("nadia", "ClusterRole", "admin",
                          {"apiGroup": RBAC, "kind": "User", "name": "nadia"}))
    # The chart's `use` ClusterRole reaches `admin` through the aggregation controller.
    until(lambda: admin.allowed("nadia", NS, "use", "s3gan.io", "serviceaccounts"),
          timeout=30, what="nadia holding `use`")
    with Operator(operator_kubeconfig, (NS,)):
        yield admin, Api(kube.kubeconfig, "alice"), Api(kube.kubeconfig, "nadia")


def _failed(admin: Api, name: str) -> dict:
    def failed():
        found = admin.get("S3GANExperiment", name, NS)
        return found if (found.get("status") or {}).get("phase") == "Failed" else None
    return until(failed, what=f"{name} Failed")


@pytest.mark.parametrize("name, spec, field, event", [
    ("as-admin", {"storage": {"credentials": {"serviceAccount": "powerful"}}},
     "spec.storage.credentials.serviceAccount: ServiceAccount 'powerful'", "NotAllowed"),
    ("with-db", {"storage": {"credentials": {"secretName": "db-creds"}}},
     "spec.storage.credentials.secretName: Secret 'db-creds'", "NotAllowed"),
    ("mining", {"cluster": {"image": "docker.io/attacker/miner:latest"}},
     "spec.cluster.image: 'docker.io/attacker/miner:latest' is not among the images",
     "SpecRejected"),
])
def test_a_user_borrows_nothing_unallowed(world, name, spec, field, event):
    admin, alice, _ = world
    alice.create(_experiment(name, **spec))
    experiment = _failed(admin, name)
    assert field in experiment["status"]["message"]
    assert "ray.allowedImages" in experiment["status"]["message"] or \
        "'use'" in experiment["status"]["message"]
    assert admin.get("RayJob", name, NS) is None
    assert admin.get("RoleBinding", f"{name}-reporter", NS) is None
    until(lambda: event in {e["reason"] for e in admin.events_for(name, NS)},
          what=f"the {event} event")


def test_the_user_cannot_grant_use_and_a_namespace_admin_can(world):
    admin, alice, nadia = world
    role, binding = _use_grant(["trainer"], ["storage-keys"])
    with pytest.raises(ForbiddenError):
        alice.create(role)
    nadia.create(role)
    nadia.create(binding)
    alice.create(_experiment("allowed", storage={"credentials": {
        "serviceAccount": "trainer", "secretName": "storage-keys"}}))
    job = until(lambda: admin.get("RayJob", "allowed", NS), what="the RayJob")
    cluster = job["spec"]["rayClusterSpec"]
    for group in (cluster["headGroupSpec"], *cluster["workerGroupSpecs"]):
        pod = group["template"]["spec"]
        assert pod["serviceAccountName"] == "trainer"
        secrets = {e["valueFrom"]["secretKeyRef"]["name"] for e in pod["containers"][0]["env"]
                   if "secretKeyRef" in e.get("valueFrom", {})}
        assert secrets == {"storage-keys"}
    # What was allowed for one object allows no other.
    alice.create(_experiment("still-not", storage={"credentials": {
        "serviceAccount": "powerful", "secretName": "storage-keys"}}))
    assert "ServiceAccount 'powerful'" in _failed(admin, "still-not")["status"]["message"]
    assert admin.get("RayJob", "still-not", NS) is None
