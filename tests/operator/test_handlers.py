"""The operator end to end on the real API server, as the chart's ServiceAccount: children in
RBAC's order, status following the RayJob, spec updates, events, drift, restarts, deletion,
refused children, and a user who may only create experiments borrowing nothing."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from s3gan_operator.main import kopf_arguments
from s3gan_operator.render import ENTRYPOINT

from benchmarks.support.kube_api import Api
from benchmarks.support.kube_control_plane import OPERATOR_ACCOUNT, OPERATOR_NAMESPACE, WATCHED
from tests.fixtures.kube_clients import Operator, until

REPO = Path(__file__).resolve().parents[2]
NS, OTHER = WATCHED  # the module's operator serves NS; tests that restart one use OTHER
HOSTILE = "a$(touch /tmp/pwned)`id`; rm -rf / | sh && echo '\"${HOME}"
OPERATOR_USER = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_ACCOUNT}"


def _experiment(name: str, namespace: str = NS, **spec) -> dict:
    return {"apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"dataset": {"uri": "s3://bucket/fashion-mnist", "resolution": 32,
                                 "numClasses": 10},
                     "training": {"globalBatch": 64}, **spec}}


@pytest.fixture(scope="module")
def admin(kube) -> Api:
    return Api(kube.kubeconfig)


@pytest.fixture(scope="module")
def operator(kube, operator_kubeconfig):
    with Operator(operator_kubeconfig, (NS,)) as running:
        yield running


def _phase(api: Api, name: str, phase: str, namespace: str = NS, timeout: float = 20.0) -> dict:
    def reached():
        found = api.get("S3GANExperiment", name, namespace)
        return found if (found.get("status") or {}).get("phase") == phase else None
    return until(reached, timeout, f"{name} in phase {phase}")


def _reasons(api: Api, name: str, namespace: str = NS) -> set[str]:
    return {e["reason"] for e in api.events_for(name, namespace)}


def test_create_renders_the_job_and_the_status_follows_the_rayjob(admin, operator):
    admin.create(_experiment("smoke"))
    job = until(lambda: admin.get("RayJob", "smoke", NS), what="the RayJob")
    assert job["spec"]["entrypoint"] == ENTRYPOINT
    experiment = admin.get("S3GANExperiment", "smoke", NS)
    assert job["metadata"]["ownerReferences"][0]["uid"] == experiment["metadata"]["uid"]
    assert "finalizers" not in experiment["metadata"]  # deletion never waits on the operator
    head = job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    assert head["containers"][0]["image"] == "ghcr.io/s3gan/ray:0.1.0"
    for kind, name in (("ConfigMap", "smoke-experiment"), ("ServiceAccount", "smoke-reporter"),
                       ("Role", "smoke-reporter"), ("RoleBinding", "smoke-reporter"),
                       ("NetworkPolicy", "smoke-ray")):
        assert admin.get(kind, name, NS), kind
    assert _phase(admin, "smoke", "Pending")["status"]["rayJobName"] == "smoke"

    admin.patch("RayJob", "smoke", NS, {"status": {
        "jobDeploymentStatus": "Running", "jobStatus": "RUNNING",
        "dashboardURL": "smoke-head-svc.research.svc:8265"}}, status=True)
    experiment = _phase(admin, "smoke", "Running")
    assert experiment["status"]["dashboardURL"] == "smoke-head-svc.research.svc:8265"
    running = {c["type"]: c["status"] for c in experiment["status"]["conditions"]}
    assert running == {"Valid": "True", "Running": "True", "Succeeded": "False",
                       "Failed": "False"}
    admin.patch("RayJob", "smoke", NS, {"status": {
        "jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"}}, status=True)
    _phase(admin, "smoke", "Succeeded")
    until(lambda: {"Created", "Running", "Succeeded"} <= _reasons(admin, "smoke"),
          what="the transition events")

    with urllib.request.urlopen(f"http://127.0.0.1:{operator.health_port}/healthz",
                                timeout=5) as response:
        assert response.status == 200
    with urllib.request.urlopen(f"http://127.0.0.1:{operator.metrics_port}/metrics",
                                timeout=5) as response:
        exposed = response.read().decode()
    assert 's3gan_operator_experiments{phase="Succeeded"} 1.0' in exposed
    assert _listening_addresses(operator.metrics_port) == {"127.0.0.1"}  # its setting
    assert 's3gan_operator_reconcile_duration_seconds_count{handler="create"}' in exposed


def test_the_rayjob_follows_at_once_under_the_operators_own_rbac(admin, operator):
    """The Role before its RoleBinding: a binding to a Role that does not exist yet is refused
    to the operator, and kopf's retry would come 60 s later (benchmarks/operator_latency
    measures the latency itself)."""
    started = time.monotonic()
    admin.create(_experiment("prompt"))
    until(lambda: admin.get("RayJob", "prompt", NS), timeout=15, what="the RayJob")
    assert time.monotonic() - started < 15
    assert "ChildRefused" not in _reasons(admin, "prompt")


def test_shell_text_in_every_string_field_reaches_only_the_config_map(admin, operator):
    spec = {"dataset": {"uri": HOSTILE, "trainSplit": HOSTILE, "evalSplit": HOSTILE,
                        "resolution": 32, "numClasses": 10},
            "storage": {"runs": HOSTILE, "endpoint": HOSTILE, "region": HOSTILE},
            "evaluation": {"inceptionWeights": HOSTILE}}
    admin.create(_experiment("hostile", **spec))
    job = until(lambda: admin.get("RayJob", "hostile", NS), what="the RayJob")
    assert job["spec"]["entrypoint"] == ENTRYPOINT
    assert "touch /tmp/pwned" not in json.dumps(job)
    config_map = admin.get("ConfigMap", "hostile-experiment", NS)
    stored = yaml.safe_load(config_map["data"]["experiment.yaml"])
    assert stored["spec"]["storage"]["endpoint"] == HOSTILE


def test_suspend_and_spec_updates_reach_the_job(admin, operator):
    admin.create(_experiment("paused"))
    until(lambda: admin.get("RayJob", "paused", NS), what="the RayJob")
    admin.patch("S3GANExperiment", "paused", NS,
                {"spec": {"suspend": True, "training": {"globalBatch": 64, "steps": 10}}})
    until(lambda: admin.get("RayJob", "paused", NS)["spec"]["suspend"], what="suspend")
    config_map = admin.get("ConfigMap", "paused-experiment", NS)
    assert yaml.safe_load(config_map["data"]["experiment.yaml"])["spec"]["training"][
        "steps"] == 10
    _phase(admin, "paused", "Pending")
    until(lambda: admin.get("S3GANExperiment", "paused", NS)["status"].get(
        "observedGeneration") == 2, what="observedGeneration 2")


def test_a_look_alike_rayjob_cannot_set_an_experiments_status(admin, operator):
    admin.create(_experiment("target"))
    until(lambda: admin.get("RayJob", "target", NS), what="the RayJob")
    admin.patch("RayJob", "target", NS, {"status": {"jobDeploymentStatus": "Running"}},
                status=True)
    _phase(admin, "target", "Running")
    # The operator's labels, no controller reference (a forged one to a wrong uid would be
    # garbage-collected at once: its owner does not exist).
    labels = {"app.kubernetes.io/managed-by": "s3gan-operator", "s3gan.io/experiment": "target"}
    admin.create({"apiVersion": "ray.io/v1", "kind": "RayJob",
                  "metadata": {"name": "forged", "namespace": NS, "labels": labels},
                  "spec": {"entrypoint": "x"}})
    admin.patch("RayJob", "forged", NS, {"status": {"jobDeploymentStatus": "Failed"}},
                status=True)
    deadline = time.monotonic() + 3.0  # ample for the forged job's events to be handled
    while time.monotonic() < deadline:
        assert admin.get("S3GANExperiment", "target", NS)["status"]["phase"] == "Running"
        time.sleep(0.1)


def test_a_name_taken_by_a_foreign_object_fails_and_borrows_nothing(admin, operator):
    admin.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                  "metadata": {"name": "squat-reporter", "namespace": NS},
                  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                              "name": "admin"},
                  "subjects": [{"kind": "User", "name": "someone"}]})
    admin.create(_experiment("squat"))
    experiment = _phase(admin, "squat", "Failed")
    assert "RoleBinding squat-reporter exists" in experiment["status"]["message"]
    assert admin.get("RayJob", "squat", NS) is None
    binding = admin.get("RoleBinding", "squat-reporter", NS)
    assert not binding["metadata"].get("ownerReferences")
    until(lambda: "NameTaken" in _reasons(admin, "squat"), what="the NameTaken event")


def test_a_rayjob_deleted_by_hand_is_created_again(admin, operator):
    admin.create(_experiment("drift"))
    first = until(lambda: admin.get("RayJob", "drift", NS), what="the RayJob")
    admin.delete("RayJob", "drift", NS)

    def replaced():
        job = admin.get("RayJob", "drift", NS)
        return job if job and job["metadata"]["uid"] != first["metadata"]["uid"] else None
    until(replaced, what="a new RayJob")
    until(lambda: "Recreated" in _reasons(admin, "drift"), what="the Recreated event")


def test_a_finished_experiments_deleted_rayjob_stays_gone(admin, operator):
    admin.create(_experiment("done"))
    until(lambda: admin.get("RayJob", "done", NS), what="the RayJob")
    admin.patch("RayJob", "done", NS, {"status": {
        "jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"}}, status=True)
    _phase(admin, "done", "Succeeded")
    admin.delete("RayJob", "done", NS)  # what a TTL clean-up does
    time.sleep(2.0)
    assert admin.get("RayJob", "done", NS) is None
    assert admin.get("S3GANExperiment", "done", NS)["status"]["phase"] == "Succeeded"


def test_a_restart_duplicates_nothing_and_leaves_finished_experiments_finished(
        admin, operator_kubeconfig):
    with Operator(operator_kubeconfig, (OTHER,)):
        admin.create(_experiment("kept", OTHER))
        admin.create(_experiment("finished", OTHER))
        for name in ("kept", "finished"):
            until(lambda n=name: admin.get("RayJob", n, OTHER), what="the RayJob")
        admin.patch("RayJob", "finished", OTHER, {"status": {
            "jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"}}, status=True)
        _phase(admin, "finished", "Succeeded", OTHER)
    admin.delete("RayJob", "finished", OTHER)  # cleaned up while no operator ran
    kept_uid = admin.get("RayJob", "kept", OTHER)["metadata"]["uid"]
    with Operator(operator_kubeconfig, (OTHER,)):
        time.sleep(3.0)  # resume handlers and the RayJob listing run at start-up
        assert [j["metadata"]["name"] for j in admin.list("RayJob", OTHER)] == ["kept"]
        assert admin.get("RayJob", "kept", OTHER)["metadata"]["uid"] == kept_uid
        assert admin.get("S3GANExperiment", "finished", OTHER)["status"]["phase"] == "Succeeded"
    created = [e["message"] for e in admin.events_for("kept", OTHER) if e["reason"] == "Created"]
    assert sorted(created) == ["ConfigMap kept-experiment", "NetworkPolicy kept-ray",
                               "RayJob kept", "Role kept-reporter", "RoleBinding kept-reporter",
                               "ServiceAccount kept-reporter"]


def test_deleting_an_experiment_never_waits_for_the_operator(admin, operator_kubeconfig):
    with Operator(operator_kubeconfig, (OTHER,)):
        admin.create(_experiment("doomed", OTHER))
        until(lambda: admin.get("RayJob", "doomed", OTHER), what="the RayJob")
    admin.delete("S3GANExperiment", "doomed", OTHER)  # no operator runs now
    until(lambda: admin.get("S3GANExperiment", "doomed", OTHER) is None, timeout=5,
          what="the experiment gone")
    # Garbage collection removes every child through its owner reference.
    for kind in ("RayJob", "ConfigMap", "ServiceAccount", "Role", "RoleBinding",
                 "NetworkPolicy"):
        until(lambda k=kind: not [o for o in admin.list(k, OTHER)
                                  if o["metadata"]["name"].startswith("doomed")],
              timeout=60, what=f"the {kind} collected")


def test_a_refused_child_fails_the_experiment_with_the_reason_and_backs_off(
        admin, operator_kubeconfig):
    quota = {"apiVersion": "v1", "kind": "ResourceQuota",
             "metadata": {"name": "no-rayjobs", "namespace": OTHER},
             "spec": {"hard": {"count/rayjobs.ray.io": "0"}}}
    admin.create(quota)
    until(lambda: (admin.get("ResourceQuota", "no-rayjobs", OTHER).get("status") or {}).get(
        "hard"), what="the quota's status")
    try:
        with Operator(operator_kubeconfig, (OTHER,)):
            admin.create(_experiment("blocked", OTHER))
            experiment = _phase(admin, "blocked", "Failed", OTHER)
            assert "RayJob blocked" in experiment["status"]["message"]
            assert "exceeded quota" in experiment["status"]["message"]
            until(lambda: "ChildRefused" in _reasons(admin, "blocked", OTHER),
                  what="the ChildRefused event")
            admin.delete("ResourceQuota", "no-rayjobs", OTHER)
            # The retry after the first backoff (5 s) creates it; the phase follows the job.
            until(lambda: admin.get("RayJob", "blocked", OTHER), timeout=30, what="the RayJob")
            _phase(admin, "blocked", "Pending", OTHER)
    finally:
        admin.delete("ResourceQuota", "no-rayjobs", OTHER)


def test_the_console_script_adds_a_liveness_probe_unless_given():
    assert kopf_arguments(["-A"])[-1] == "--liveness=http://0.0.0.0:8080/healthz"
    given = kopf_arguments(["-A", "--liveness=http://127.0.0.1:9/h"])
    assert [a for a in given if "liveness" in a] == ["--liveness=http://127.0.0.1:9/h"]
    assert given[:3] == ["run", "--module", "s3gan_operator.handlers"]


def test_the_examples_apply_run_and_delete_as_the_docs_say(kube, admin, operator):
    """`kubectl apply --server-side -f manifests/examples/` once a namespace admin allowed the
    examples' Secrets and ServiceAccount: one RayJob each; `kubectl delete -f` removes all."""
    examples = sorted((REPO / "manifests" / "examples").glob("*.yaml"))
    names = [yaml.safe_load(p.read_text())["metadata"]["name"] for p in examples]
    kube.apply([{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                 "metadata": {"name": "examples-use", "namespace": NS},
                 "rules": [{"apiGroups": ["s3gan.io"], "resources": ["secrets"],
                            "resourceNames": ["s3gan-storage-keys", "s3gan-smoke-keys"],
                            "verbs": ["use"]},
                           {"apiGroups": ["s3gan.io"], "resources": ["serviceaccounts"],
                            "resourceNames": ["s3gan-storage"], "verbs": ["use"]}]},
                {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                 "metadata": {"name": "examples-use", "namespace": NS},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                             "name": "examples-use"},
                 "subjects": [{"kind": "ServiceAccount", "name": OPERATOR_ACCOUNT,
                               "namespace": OPERATOR_NAMESPACE}]}])
    kube.kubectl("apply", "--server-side", "-f", str(REPO / "manifests" / "examples"))
    for name in names:
        until(lambda n=name: admin.get("RayJob", n, NS) or _failure(admin, n),
              what=f"{name}'s RayJob")
        assert admin.get("RayJob", name, NS), _failure(admin, name)
    jobs = [j["metadata"]["name"] for j in admin.list("RayJob", NS)]
    assert all(jobs.count(n) == 1 for n in names)
    kube.kubectl("delete", "-f", str(REPO / "manifests" / "examples"), "--wait=true",
                 "--timeout=30s")
    until(lambda: not {j["metadata"]["name"] for j in admin.list("RayJob", NS)} & set(names),
          timeout=60, what="the examples' RayJobs collected")


def _listening_addresses(port: int) -> set[str]:
    """The IPv4 addresses with a socket listening on ``port`` (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            found.add(".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


def _failure(admin: Api, name: str) -> str | None:
    status = (admin.get("S3GANExperiment", name, NS) or {}).get("status") or {}
    return status.get("message") if status.get("phase") == "Failed" else None


def test_an_older_versions_finalizer_is_released(admin, operator):
    """Experiments created by an operator that still used a finalizer lose it, so they too
    delete without waiting."""
    old = _experiment("legacy")
    old["metadata"]["finalizers"] = ["s3gan.io/finalizer"]
    admin.create(old)
    until(lambda: not admin.get("S3GANExperiment", "legacy", NS)["metadata"].get("finalizers"),
          what="the finalizer released")
    admin.delete("S3GANExperiment", "legacy", NS)
    until(lambda: admin.get("S3GANExperiment", "legacy", NS) is None, timeout=10,
          what="the experiment gone")
