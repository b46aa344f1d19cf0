"""The Ray head and worker pods the operator renders are admitted under PodSecurity
"restricted": Pods built from the rendered templates, dry-run on the real API server in a
namespace that enforces it."""

from __future__ import annotations

import json

import pytest
from s3gan_operator.render import Owner, render
from s3gan_operator.settings import OperatorSettings

from s3gan.spec import ExperimentSpec
from tests.operator.test_render import KINDS

NS = "restricted"


@pytest.fixture(scope="module")
def restricted(kube):
    kube.kubectl("create", "namespace", NS)
    kube.kubectl("label", "namespace", NS, "pod-security.kubernetes.io/enforce=restricted",
                 "pod-security.kubernetes.io/enforce-version=v1.28")
    return kube


def _pods(kind: str) -> list[dict]:
    owner = Owner("psa", NS, "6f1c2b0e-0000-4000-8000-000000000009")
    job = render(owner, ExperimentSpec.model_validate(KINDS[kind]), OperatorSettings()).ray_job
    cluster = job["spec"]["rayClusterSpec"]
    groups = [("head", cluster["headGroupSpec"])] + [
        (g["groupName"], g) for g in cluster["workerGroupSpecs"]]
    return [{"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": f"psa-{name}", "namespace": NS,
                          "labels": group["template"]["metadata"]["labels"]},
             "spec": group["template"]["spec"]} for name, group in groups]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_ray_pods_are_admitted_under_restricted(restricted, kind):
    for pod in _pods(kind):
        restricted.kubectl("create", "serviceaccount", pod["spec"]["serviceAccountName"],
                           "-n", NS, check=False)  # the operator creates it before the RayJob
        done = restricted.kubectl("create", "--dry-run=server", "-f", "-", check=False,
                                  stdin=json.dumps(pod))
        assert done.returncode == 0, done.stderr
        assert "violate PodSecurity" not in done.stderr


def test_the_check_refuses_a_pod_that_breaks_restricted(restricted):
    (pod, *_) = _pods("cpu")
    restricted.kubectl("create", "serviceaccount", pod["spec"]["serviceAccountName"], "-n", NS,
                       check=False)
    del pod["spec"]["securityContext"]
    for container in pod["spec"]["containers"]:
        del container["securityContext"]
    done = restricted.kubectl("create", "--dry-run=server", "-f", "-", check=False,
                              stdin=json.dumps(pod))
    assert done.returncode != 0 and 'violates PodSecurity "restricted' in done.stderr
