"""The Ray Train worker group for a TPU slice agrees with the RayJob the operator renders for the
same spec (hosts per slice, chips per host), and both validate: Ray's TPU arithmetic on one side,
KubeRay's CRD schema on the other."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml
from s3gan_operator.accelerators import TPU_RESOURCE
from s3gan_operator.render import Owner, render
from s3gan_operator.settings import OperatorSettings
from s3gan_workers.xla.slice import SliceError, tpu_scaling_config

from s3gan.spec import ExperimentSpec, parse_experiment

REPO = Path(__file__).resolve().parents[3]
KUBERAY = REPO.parent / "shared" / "kuberay-crds"
TPU_EXAMPLES = sorted(p for p in (REPO / "manifests" / "examples").glob("*.yaml")
                      if "tpu" in p.name)


@pytest.fixture(scope="module")
def rayjob_schema():
    if not (KUBERAY / "ray.io_rayjobs.yaml").is_file():
        pytest.skip(f"KubeRay CRDs not found at {KUBERAY} (the shared data folder)")
    crd = yaml.load((KUBERAY / "ray.io_rayjobs.yaml").read_text(), Loader=yaml.CSafeLoader)
    return next(v for v in crd["spec"]["versions"] if v["name"] == "v1")["schema"][
        "openAPIV3Schema"]


def test_v4_and_v6e_examples_exist():
    types = {yaml.safe_load(p.read_text())["spec"]["resources"]["accelerator"]["type"]
             for p in TPU_EXAMPLES}
    assert {"tpu-v4-podslice", "tpu-v6e-slice"} <= types


@pytest.mark.parametrize("path", TPU_EXAMPLES, ids=lambda p: p.name)
def test_ray_workers_match_the_rendered_tpu_pods(path, rayjob_schema):
    experiment = parse_experiment(yaml.safe_load(path.read_text()), str(path))
    job = render(Owner(experiment.metadata.name, experiment.metadata.namespace, "uid"),
                 experiment.spec, OperatorSettings()).ray_job
    jsonschema.Draft4Validator(rayjob_schema).validate(job)
    group = job["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]
    pod = group["template"]["spec"]["containers"][0]["resources"]
    scaling = tpu_scaling_config(experiment.spec)
    # One slice: the group's one replica has numOfHosts pods, one Ray worker on each.
    assert group["replicas"] == 1
    assert scaling.num_workers == group["numOfHosts"] == experiment.spec.resources.workers
    # Each worker asks Ray for exactly the chips its pod asks Kubernetes for.
    assert str(scaling.resources_per_worker["TPU"]) == pod["limits"][TPU_RESOURCE]
    assert pod["requests"][TPU_RESOURCE] == pod["limits"][TPU_RESOURCE]
    assert scaling.topology == experiment.spec.resources.accelerator.topology


def _spec(accelerator: dict, workers: int) -> ExperimentSpec:
    return ExperimentSpec.model_validate({"dataset": {"uri": "gs://b/d"}, "resources": {
        "accelerator": {"kind": "tpu", **accelerator}, "workers": workers}})


@pytest.mark.parametrize("accelerator, workers, hosts", [
    ({"type": "tpu-v4-podslice", "topology": "2x2x4", "perWorker": 4}, 4, 4),
    ({"type": "tpu-v6e-slice", "topology": "4x4", "perWorker": 4}, 4, 4),
    ({"type": "tpu-v6e-slice", "topology": "2x4", "perWorker": 8}, 1, 1),
])
def test_one_worker_per_host_with_the_hosts_chips(accelerator, workers, hosts):
    scaling = tpu_scaling_config(_spec(accelerator, workers))
    assert scaling.use_tpu and scaling.num_workers == hosts
    assert scaling.resources_per_worker["TPU"] == accelerator["perWorker"]


@pytest.mark.parametrize("accelerator, workers, field", [
    ({"type": "tpu-v4-podslice", "topology": "2x2x4", "perWorker": 2}, 8,
     "spec.resources.accelerator.perWorker"),
    ({"type": "tpu-v4-podslice", "topology": "2x2x4", "perWorker": 4}, 8,
     "spec.resources.workers"),
    ({"type": "tpu-v9-imaginary", "topology": "2x2x4", "perWorker": 4}, 4,
     "spec.resources.accelerator.type"),
    ({"type": "tpu-v6e-slice", "topology": "3x3", "perWorker": 4}, 4,
     "spec.resources.accelerator.topology"),
])
def test_a_spec_that_is_not_one_slice_names_the_field(accelerator, workers, field):
    with pytest.raises(SliceError, match=field):
        tpu_scaling_config(_spec(accelerator, workers))
