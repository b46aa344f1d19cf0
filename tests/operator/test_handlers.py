"""The operator end to end under kopf's KopfRunner against kmock's Kubernetes emulator: the
real handlers, the real client, a real HTTP API server (kmock) in between."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import pytest
import yaml
from kopf.testing import KopfRunner
from s3gan_operator.main import kopf_arguments
from s3gan_operator.render import ENTRYPOINT

from tests.fixtures.kubernetes_api import fetch, send, until
from tests.fixtures.s3server import free_port

NS = "research"
EXPERIMENTS = f"/apis/s3gan.io/v1alpha1/namespaces/{NS}/s3ganexperiments"
RAYJOBS = f"/apis/ray.io/v1/namespaces/{NS}/rayjobs"
CONFIGMAPS = f"/api/v1/namespaces/{NS}/configmaps"
ACCOUNTS = f"/api/v1/namespaces/{NS}/serviceaccounts"
ROLES = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}/roles"
BINDINGS = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}/rolebindings"
HOSTILE = "a$(touch /tmp/pwned)`id`; rm -rf / | sh && echo '\"${HOME}"


def _experiment(name: str, **spec) -> dict:
    return {"apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
            # What a real API server would have assigned (kmock assigns nothing).
            "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}", "generation": 1,
                         "resourceVersion": "1"},
            "spec": {"dataset": {"uri": "s3://bucket/fashion-mnist", "resolution": 32,
                                 "numClasses": 10},
                     "training": {"globalBatch": 64}, **spec}}


@pytest.fixture
def cluster(kubernetes_api, monkeypatch):
    monkeypatch.setenv("S3GAN_OPERATOR_METRICS_PORT", str(free_port()))
    monkeypatch.setenv("S3GAN_RAY_IMAGE", "registry.local/s3gan/ray:test")
    return kubernetes_api


class Operator:
    """KopfRunner entered and left from a worker thread, so kmock's loop keeps serving."""

    def __init__(self):
        self.liveness = f"http://127.0.0.1:{free_port()}/healthz"
        self.runner = KopfRunner(kopf_arguments(["--standalone", "--all-namespaces",
                                                 f"--liveness={self.liveness}"]))

    async def __aenter__(self):
        await asyncio.to_thread(self.runner.__enter__)
        return self

    async def __aexit__(self, *exc):
        await asyncio.to_thread(self.runner.__exit__, None, None, None)
        assert self.runner.exception is None, self.runner.exception


def _events(kmock) -> list[dict]:
    """Events as posted: kmock cannot store them (it does not implement generateName)."""
    return [r.data for r in kmock if r.method.value == "POST" and r.url.path.endswith("/events")]


async def _items(kmock, path):
    return (await fetch(kmock, path) or {}).get("items", [])


async def _status(kmock, name, key, value):
    async def check():
        found = await fetch(kmock, f"{EXPERIMENTS}/{name}")
        return found if found and (found.get("status") or {}).get(key) == value else None
    return await until(check)


async def test_create_renders_the_job_and_the_status_follows_the_rayjob(cluster):
    async with Operator() as operator:
        await send(cluster, "POST", EXPERIMENTS, _experiment("smoke"))
        job = await until(lambda: fetch(cluster, f"{RAYJOBS}/smoke"))
        assert job["spec"]["entrypoint"] == ENTRYPOINT
        assert job["metadata"]["ownerReferences"][0]["uid"] == "uid-smoke"
        head = job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
        assert head["containers"][0]["image"] == "registry.local/s3gan/ray:test"
        for path in (CONFIGMAPS + "/smoke-experiment", ACCOUNTS + "/smoke-reporter",
                     ROLES + "/smoke-reporter", BINDINGS + "/smoke-reporter"):
            assert await fetch(cluster, path), path
        experiment = await _status(cluster, "smoke", "phase", "Pending")
        assert experiment["status"]["rayJobName"] == "smoke"

        await send(cluster, "PATCH", f"{RAYJOBS}/smoke/status", {"status": {
            "jobDeploymentStatus": "Running", "jobStatus": "RUNNING",
            "dashboardURL": "smoke-head-svc.research.svc:8265"}})
        experiment = await _status(cluster, "smoke", "phase", "Running")
        assert experiment["status"]["dashboardURL"] == "smoke-head-svc.research.svc:8265"
        running = {c["type"]: c["status"] for c in experiment["status"]["conditions"]}
        assert running == {"Valid": "True", "Running": "True", "Succeeded": "False",
                           "Failed": "False"}

        await send(cluster, "PATCH", f"{RAYJOBS}/smoke/status", {"status": {
            "jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"}})
        await _status(cluster, "smoke", "phase", "Succeeded")

        async def transitions_posted():  # kopf posts events from a queue, a moment later
            return {"Created", "Running", "Succeeded"} <= {e.get("reason")
                                                          for e in _events(cluster)}
        await until(transitions_posted)

        with urllib.request.urlopen(operator.liveness, timeout=5) as response:
            assert response.status == 200
        port = int(__import__("os").environ["S3GAN_OPERATOR_METRICS_PORT"])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            exposed = r.read().decode()
        assert 's3gan_operator_experiments{phase="Succeeded"} 1.0' in exposed
        assert 's3gan_operator_reconcile_duration_seconds_count{handler="create"}' in exposed


async def test_a_restarted_operator_adopts_and_duplicates_nothing(cluster):
    # A crash after the first child: the ConfigMap exists, unowned; nothing else does.
    orphan = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "resumed-experiment", "namespace": NS}, "data": {}}
    await send(cluster, "POST", CONFIGMAPS, orphan)
    await send(cluster, "POST", EXPERIMENTS, _experiment("resumed"))
    def created_events():
        return [e for e in _events(cluster) if e.get("reason") == "Created"]

    def rayjob_posts():
        return [r for r in cluster if r.method.value == "POST" and r.url.path == RAYJOBS]

    async with Operator():
        await until(lambda: fetch(cluster, f"{RAYJOBS}/resumed"))
        await _status(cluster, "resumed", "phase", "Pending")
        await until(lambda: asyncio.sleep(0, len(created_events()) == 4))
        first_run_posts = len(rayjob_posts())
    async with Operator():
        # The resume handler tries to create the RayJob again, gets 409, and adopts it.
        await until(lambda: asyncio.sleep(0, len(rayjob_posts()) > first_run_posts))
        await _status(cluster, "resumed", "phase", "Pending")
    assert [j["metadata"]["name"] for j in await _items(cluster, RAYJOBS)] == ["resumed"]
    config_map = await fetch(cluster, f"{CONFIGMAPS}/resumed-experiment")
    assert [r["uid"] for r in config_map["metadata"]["ownerReferences"]] == ["uid-resumed"]
    assert sorted(e["message"] for e in created_events()) == [
        "RayJob resumed", "Role resumed-reporter", "RoleBinding resumed-reporter",
        "ServiceAccount resumed-reporter"]


async def test_delete_removes_the_children_and_releases_the_experiment(cluster):
    async with Operator():
        await send(cluster, "POST", EXPERIMENTS, _experiment("doomed"))
        await until(lambda: fetch(cluster, f"{RAYJOBS}/doomed"))
        finalized = await fetch(cluster, f"{EXPERIMENTS}/doomed")
        assert "s3gan.io/finalizer" in finalized["metadata"]["finalizers"]
        async with cluster.request("DELETE", f"{EXPERIMENTS}/doomed"):
            pass

        async def gone():
            return await fetch(cluster, f"{EXPERIMENTS}/doomed") is None
        await until(gone)
        for path in (RAYJOBS, CONFIGMAPS, ACCOUNTS, ROLES, BINDINGS):
            names = [o["metadata"]["name"] for o in await _items(cluster, path)]
            assert not [n for n in names if n.startswith("doomed")], path


async def test_shell_text_in_every_string_field_reaches_only_the_config_map(cluster):
    spec = {"dataset": {"uri": HOSTILE, "trainSplit": HOSTILE, "evalSplit": HOSTILE,
                        "resolution": 32, "numClasses": 10},
            "storage": {"runs": HOSTILE, "endpoint": HOSTILE, "region": HOSTILE},
            "evaluation": {"inceptionWeights": HOSTILE}}
    async with Operator():
        await send(cluster, "POST", EXPERIMENTS, _experiment("hostile", **spec))
        job = await until(lambda: fetch(cluster, f"{RAYJOBS}/hostile"))
        assert job["spec"]["entrypoint"] == ENTRYPOINT
        assert "touch /tmp/pwned" not in json.dumps(job)
        config_map = await fetch(cluster, f"{CONFIGMAPS}/hostile-experiment")
        stored = yaml.safe_load(config_map["data"]["experiment.yaml"])
        assert stored["spec"]["storage"]["endpoint"] == HOSTILE


async def test_a_bad_spec_fails_with_its_problems_and_renders_nothing(cluster):
    async with Operator():
        await send(cluster, "POST", EXPERIMENTS,
                    _experiment("bad", resources={"workers": 3}))  # 64 % 3 != 0
        experiment = await _status(cluster, "bad", "phase", "Failed")
        assert "spec.training.globalBatch" in experiment["status"]["message"]
        valid = next(c for c in experiment["status"]["conditions"] if c["type"] == "Valid")
        assert valid["status"] == "False"
        assert await fetch(cluster, f"{RAYJOBS}/bad") is None


async def test_suspend_and_spec_updates_reach_the_job(cluster):
    async with Operator():
        await send(cluster, "POST", EXPERIMENTS, _experiment("paused"))
        await until(lambda: fetch(cluster, f"{RAYJOBS}/paused"))
        await send(cluster, "PATCH", f"{EXPERIMENTS}/paused",
                    {"metadata": {"generation": 2},
                     "spec": {"suspend": True, "training": {"globalBatch": 64, "steps": 10}}})

        async def suspended():
            job = await fetch(cluster, f"{RAYJOBS}/paused")
            return job if job["spec"]["suspend"] else None
        await until(suspended)
        config_map = await fetch(cluster, f"{CONFIGMAPS}/paused-experiment")
        assert yaml.safe_load(config_map["data"]["experiment.yaml"])["spec"]["training"][
            "steps"] == 10
        await _status(cluster, "paused", "observedGeneration", 2)


def test_the_console_script_adds_a_liveness_probe_unless_given():
    assert kopf_arguments(["-A"])[-1] == "--liveness=http://0.0.0.0:8080/healthz"
    given = kopf_arguments(["-A", "--liveness=http://127.0.0.1:9/h"])
    assert [a for a in given if "liveness" in a] == ["--liveness=http://127.0.0.1:9/h"]
    assert given[:3] == ["run", "--module", "s3gan_operator.handlers"]


async def test_a_look_alike_rayjob_cannot_set_an_experiments_status(cluster):
    async with Operator():
        await send(cluster, "POST", EXPERIMENTS, _experiment("target"))
        await until(lambda: fetch(cluster, f"{RAYJOBS}/target"))
        await _status(cluster, "target", "phase", "Pending")
        labels = {"app.kubernetes.io/managed-by": "s3gan-operator", "s3gan.io/experiment": "target"}
        forged = {"apiVersion": "ray.io/v1", "kind": "RayJob",
                  "metadata": {"name": "forged", "namespace": NS, "labels": labels,
                               "ownerReferences": [{
                                   "apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
                                   "name": "target", "uid": "someone-else", "controller": True}]},
                  "spec": {}, "status": {"jobDeploymentStatus": "Failed"}}
        await send(cluster, "PATCH", f"{RAYJOBS}/target/status",
                    {"status": {"jobDeploymentStatus": "Running"}})
        await _status(cluster, "target", "phase", "Running")
        await send(cluster, "POST", RAYJOBS, forged)
        deadline = time.monotonic() + 3.0  # ample for the forged job's event to be handled
        while time.monotonic() < deadline:
            found = await fetch(cluster, f"{EXPERIMENTS}/target")
            assert found["status"]["phase"] == "Running"
            await asyncio.sleep(0.05)


async def test_a_spec_fixed_after_a_rejection_gets_its_job(cluster):
    async with Operator():
        await send(cluster, "POST", EXPERIMENTS, _experiment("fixed", resources={"workers": 3}))
        await _status(cluster, "fixed", "phase", "Failed")
        await send(cluster, "PATCH", f"{EXPERIMENTS}/fixed",
                    {"metadata": {"generation": 2}, "spec": {"resources": {"workers": 2}}})
        job = await until(lambda: fetch(cluster, f"{RAYJOBS}/fixed"))
        assert job["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replicas"] == 2
        experiment = await _status(cluster, "fixed", "phase", "Pending")
        valid = next(c for c in experiment["status"]["conditions"] if c["type"] == "Valid")
        assert valid["status"] == "True"
