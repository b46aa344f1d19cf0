"""The rank-0 status reporter against kmock's Kubernetes emulator: the patch reaches the status
subresource with rank 0's keys only, the operator's keys survive, and no token reaches the log."""

from __future__ import annotations

import asyncio
import logging

import kmock as kmocklib
import pytest
from kubernetes import client
from kubernetes.config.incluster_config import InClusterConfigLoader
from s3gan_workers.status import MERGE_PATCH, Progress, StatusReporter, ThrottledReporter

from tests.fixtures.clock import ManualClock

NS = "research"
EXPERIMENTS = f"/apis/s3gan.io/v1alpha1/namespaces/{NS}/s3ganexperiments"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.sentinel-token-value"


@pytest.fixture
async def cluster(kmock):
    kmock.resources["s3gan.io/v1alpha1/s3ganexperiments"] = kmocklib.ResourceInfo(
        kind="S3GANExperiment", singular="s3ganexperiment", namespaced=True,
        verbs={"get", "list", "create", "patch"}, subresources={"status"})
    kmock.resources.load_bundled()
    experiment = {"apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
                  "metadata": {"name": "fmnist", "namespace": NS},
                  "spec": {"dataset": {"uri": "s3://bucket/fmnist"}},
                  "status": {"phase": "Running", "rayJobName": "fmnist"}}
    async with kmock.post(EXPERIMENTS, json=experiment) as response:
        assert response.status < 300, await response.text()
    return kmock


@pytest.fixture
def pod_identity(tmp_path):
    """The files Kubernetes mounts from a pod's ServiceAccount, read by the client's own
    in-cluster loader."""
    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text(TOKEN)
    ca.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    return token, ca


def _reporter(kmock, pod_identity, name: str = "fmnist") -> StatusReporter:
    token, ca = pod_identity
    configuration = client.Configuration()
    InClusterConfigLoader(str(token), str(ca), try_refresh_token=False,
                          environ={"KUBERNETES_SERVICE_HOST": "127.0.0.1",
                                   "KUBERNETES_SERVICE_PORT": "443"}
                          ).load_and_set(configuration)
    # kmock speaks plain HTTP; everything else is what a pod gets.
    configuration.host = str(kmock.url).rstrip("/")
    return StatusReporter(client.ApiClient(configuration), name, NS)


async def _status(kmock) -> dict:
    async with kmock.get(f"{EXPERIMENTS}/fmnist") as response:
        return (await response.json())["status"]


async def test_the_patch_lands_on_the_status_subresource_with_rank_0s_keys(
        cluster, pod_identity, caplog):
    reporter = _reporter(cluster, pod_identity)
    with caplog.at_level(logging.DEBUG):
        assert await asyncio.to_thread(reporter.report, Progress("train", 1200, fid=35.5))
        assert await asyncio.to_thread(reporter.report,
                                       Progress("evaluate", 2000, fid=30.25))
    assert await _status(cluster) == {"phase": "Running", "rayJobName": "fmnist",
                                      "stage": "evaluate", "step": 2000, "fid": 30.25}
    patches = [r for r in cluster if r.method.value == "PATCH"]
    assert [r.url.path for r in patches] == [f"{EXPERIMENTS}/fmnist/status"] * 2
    assert patches[0].data == {"status": {"stage": "train", "step": 1200, "fid": 35.5}}
    assert patches[0].headers["Content-Type"] == MERGE_PATCH
    scheme, credential = patches[0].headers["Authorization"].split(" ", 1)
    assert (scheme.lower(), credential) == ("bearer", TOKEN)  # the pod's token was sent
    assert TOKEN not in caplog.text


async def test_a_refused_patch_is_logged_without_the_token_and_training_goes_on(
        cluster, pod_identity, caplog):
    reporter = _reporter(cluster, pod_identity, name="someone-else")
    with caplog.at_level(logging.DEBUG):
        assert not await asyncio.to_thread(reporter.report, Progress("train", 1))
    assert "refused: HTTP 404" in caplog.text and "someone-else" in caplog.text
    assert TOKEN not in caplog.text
    assert "stage" not in await _status(cluster)


async def test_training_steps_patch_status_step_at_most_once_per_interval(cluster,
                                                                          pod_identity):
    clock = ManualClock(100.0)
    reporter = ThrottledReporter(_reporter(cluster, pod_identity), 15.0, clock=clock)

    async def report(progress: Progress) -> bool:
        return await asyncio.to_thread(reporter.report, progress)

    assert await report(Progress("train", 50, images_per_second=120.5))
    clock.now += 14.9
    assert not await report(Progress("train", 100, images_per_second=121.0))  # held back
    clock.now += 0.1
    assert await report(Progress("train", 150, fid=41.5, images_per_second=119.25))
    patches = [r.data["status"] for r in cluster if r.method.value == "PATCH"]
    assert patches == [{"stage": "train", "step": 50, "imagesPerSecond": 120.5},
                       {"stage": "train", "step": 150, "fid": 41.5, "imagesPerSecond": 119.25}]
    status = await _status(cluster)
    assert (status["stage"], status["step"], status["fid"]) == ("train", 150, 41.5)
    assert status["phase"] == "Running"  # the operator's keys are untouched


def test_outside_a_cluster_step_reports_do_nothing():
    clock_reads = []
    reporter = ThrottledReporter(StatusReporter(None), clock=lambda: clock_reads.append(1) or 0.0)
    assert not reporter.report(Progress("train", 5))
    assert clock_reads == []


def test_outside_a_cluster_the_reporter_is_a_no_op_that_says_so(caplog, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with caplog.at_level(logging.INFO, logger="s3gan_workers.status"):
        unnamed = StatusReporter.from_environment({})
        outside = StatusReporter.from_environment({"S3GAN_EXPERIMENT_NAME": "fmnist",
                                                   "S3GAN_EXPERIMENT_NAMESPACE": NS})
    assert not unnamed.active and not outside.active
    assert not outside.report(Progress("train", 5))
    assert "S3GAN_EXPERIMENT_NAME" in caplog.text
    assert "not inside a Kubernetes pod" in caplog.text


def test_progress_names_a_bad_field():
    with pytest.raises(ValueError, match="status.stage"):
        Progress("training")
    with pytest.raises(ValueError, match="status.step"):
        Progress("train", -1)
    assert Progress("done").as_status() == {"stage": "done"}
