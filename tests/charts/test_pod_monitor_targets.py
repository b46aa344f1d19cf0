"""The chart's PodMonitor scrapes exactly the Ray pods the operator renders, on the port where
the pipeline's rank 0 serves the metric catalogue."""

from __future__ import annotations

from s3gan_operator.render import Owner, render
from s3gan_operator.settings import OperatorSettings

from s3gan.spec import ExperimentSpec
from tests.charts.rendering import one
from tests.charts.rendering import render as render_chart

OWNER = Owner("fmnist", "team-a", "6f1c2b0e-0000-4000-8000-000000000002")


def _ray_pods() -> list[dict]:
    spec = ExperimentSpec.model_validate({"dataset": {"uri": "s3://bucket/fmnist"}})
    cluster = render(OWNER, spec, OperatorSettings()).ray_job["spec"]["rayClusterSpec"]
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    return [group["template"] for group in groups]


def test_pod_monitor_selects_every_ray_pod_on_its_metrics_port():
    monitor = one(render_chart("default"), "PodMonitor")["spec"]
    selector = monitor["selector"]["matchLabels"]
    (endpoint,) = monitor["podMetricsEndpoints"]
    for pod in _ray_pods():
        labels = pod["metadata"]["labels"]
        assert selector.items() <= labels.items(), labels
        (container,) = pod["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert int(env["S3GAN_METRICS_PORT"]) == ports[endpoint["port"]]
        assert env["S3GAN_METRICS_ADDRESS"] == "0.0.0.0"  # reachable by Prometheus
