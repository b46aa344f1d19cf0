"""The chart's RBAC is enough for the real operator: the operator runs with the arguments the
chart renders, in each watch mode, through an experiment's whole life against kmock's
Kubernetes emulator; every API request it makes must be one the chart's Roles allow."""

from __future__ import annotations

import asyncio

import kopf
import pytest
from kopf.testing import KopfRunner
from s3gan_operator.main import kopf_arguments

from tests.charts.rendering import one, render
from tests.fixtures.kubernetes_api import fetch, send, until
from tests.fixtures.s3server import free_port

NS = "team-a"
EXPERIMENTS = f"/apis/s3gan.io/v1alpha1/namespaces/{NS}/s3ganexperiments"
RAYJOBS = f"/apis/ray.io/v1/namespaces/{NS}/rayjobs"
# Requests this test makes itself carry this header; the operator's do not.
DRIVER = {"X-Test-Driver": "chart-rbac"}


def chart_arguments(variant: str, monkeypatch) -> list[str]:
    """The operator container's arguments and environment as the chart renders them, with the
    health endpoint and metrics on free loopback ports."""
    (operator,) = one(render(variant), "Deployment")["spec"]["template"]["spec"]["containers"]
    for variable in operator["env"]:
        monkeypatch.setenv(variable["name"], variable["value"])
    monkeypatch.setenv("S3GAN_OPERATOR_METRICS_PORT", str(free_port()))
    return [f"--liveness=http://127.0.0.1:{free_port()}/healthz"
            if a.startswith("--liveness=") else a for a in operator["args"]]


async def experiment_life(kmock, arguments):
    """Create, run, suspend and delete one experiment under the operator."""
    settings = kopf.OperatorSettings()
    if "--all-namespaces" not in arguments:
        # kmock cannot serve /api/v1/namespaces. A real API server forbids it under the chart's
        # RBAC, and kopf then serves the namespaces it was given: the state it starts in with
        # scanning disabled.
        settings.scanning.disabled = True
    runner = KopfRunner(kopf_arguments(arguments), settings=settings)
    await asyncio.to_thread(runner.__enter__)
    try:
        await send(kmock, "POST", EXPERIMENTS, headers=DRIVER, body={
            "apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
            "metadata": {"name": "life", "namespace": NS, "uid": "uid-life", "generation": 1,
                         "resourceVersion": "1"},  # what an API server would assign
            "spec": {"dataset": {"uri": "s3://bucket/fashion-mnist", "resolution": 32,
                                 "numClasses": 10}, "training": {"globalBatch": 64}}})
        await until(lambda: fetch(kmock, f"{RAYJOBS}/life", headers=DRIVER))
        await send(kmock, "PATCH", f"{RAYJOBS}/life/status", headers=DRIVER, body={"status": {
            "jobDeploymentStatus": "Running", "jobStatus": "RUNNING"}})

        async def running():
            found = await fetch(kmock, f"{EXPERIMENTS}/life", headers=DRIVER)
            return (found.get("status") or {}).get("phase") == "Running"
        await until(running)
        await send(kmock, "PATCH", f"{EXPERIMENTS}/life", headers=DRIVER,
                   body={"metadata": {"generation": 2}, "spec": {"suspend": True}})

        async def suspended():
            return (await fetch(kmock, f"{RAYJOBS}/life", headers=DRIVER))["spec"]["suspend"]
        await until(suspended)
        await send(kmock, "DELETE", f"{EXPERIMENTS}/life", headers=DRIVER)

        async def gone():
            return await fetch(kmock, f"{EXPERIMENTS}/life", headers=DRIVER) is None
        await until(gone)
    finally:
        await asyncio.to_thread(runner.__exit__, None, None, None)
    assert runner.exception is None, runner.exception


def verb(request) -> str:
    action = request.action.value.lower()
    if action == "fetch":
        return "get"
    if action == "update":
        return "patch" if request.method.value == "PATCH" else "update"
    if action == "delete" and request.name is None:
        return "deletecollection"
    return action


def allowed(rules, group, resource, what) -> bool:
    return any(group in r["apiGroups"] and resource in r["resources"] and what in r["verbs"]
               and not r.get("resourceNames") for r in rules)


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["default", "namespaced"])
async def test_every_operator_request_is_allowed(kubernetes_api, monkeypatch, variant):
    cluster = kubernetes_api
    docs = render(variant)
    await experiment_life(cluster, chart_arguments(variant, monkeypatch))

    cluster_rules = [r for d in docs if d["kind"] == "ClusterRole" for r in d["rules"]]
    namespace_rules = {d["metadata"]["namespace"]: d["rules"] for d in docs if d["kind"] == "Role"}
    # Discovery (/api, /apis/GROUP/VERSION) is open to every authenticated client.
    requests = [r for r in cluster if r.resource is not None and r.resource.plural
                and "X-Test-Driver" not in r.headers]
    made = {(r.resource.group, r.resource.plural + (f"/{r.subresource}" if r.subresource else ""),
             verb(r), r.namespace) for r in requests}
    # The life was really lived: the job created, the status patched, the children deleted.
    assert {("ray.io", "rayjobs", "create", NS),
            ("s3gan.io", "s3ganexperiments/status", "patch", NS),
            ("", "configmaps", "delete", NS)} <= made
    assert ("s3gan.io", "s3ganexperiments", "create", NS) not in made  # the test's own request
    denied = sorted((group, resource, what, namespace)
                    for group, resource, what, namespace in made
                    if not allowed(cluster_rules + namespace_rules.get(namespace, []),
                                   group, resource, what))
    assert not denied
