"""How soon a new experiment's RayJob exists after its S3GANExperiment does, on a real API
server, with the operator running as its own ServiceAccount under the chart's RBAC.

As on a cluster: etcd, kube-apiserver and kube-controller-manager v1.28
(``../shared/kube-control-plane``), the CRDs and the chart installed as a user installs them,
the operator (``python -m s3gan_operator.main``, the real console entry) with a kubeconfig
holding its ServiceAccount's token, and this client as the admin. Each sample creates one
experiment and polls for its RayJob. The baseline, measured in the same run against the same
server, is the API round trip itself: create a ConfigMap, then read it back. Target: median
CR → RayJob latency < 1 s.

    python -m benchmarks operator_latency
    python -m benchmarks.operator_latency --experiments 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

from benchmarks.support.kube_api import OPERATOR_ENV, Api
from benchmarks.support.kube_control_plane import (
    OPERATOR_ACCOUNT,
    OPERATOR_NAMESPACE,
    WATCHED,
    ControlPlane,
    free_ports,
    missing,
)

TARGET_SECONDS = 1.0


def _cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def _create_then_wait(api, body: dict, kind: str, name: str, namespace: str) -> float:
    started = time.perf_counter()
    api.create(body)
    while api.get(kind, name, namespace) is None:
        time.sleep(0.002)
    return time.perf_counter() - started


def _experiment(name: str, namespace: str) -> dict:
    return {"apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"dataset": {"uri": "s3://bench/data", "resolution": 32, "numClasses": 10},
                     "training": {"globalBatch": 64}}}


def _sample(api, name: str, namespace: str) -> tuple[float, float]:
    probe = {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": f"probe-{name}", "namespace": namespace}, "data": {}}
    round_trip = _create_then_wait(api, probe, "ConfigMap", f"probe-{name}", namespace)
    latency = _create_then_wait(api, _experiment(name, namespace), "RayJob", name, namespace)
    return round_trip, latency


def _mean_create_handler_seconds(metrics_port: int) -> float:
    """The operator's own view: mean wall time of its create handler (its Prometheus histogram)."""
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        lines = response.read().decode().splitlines()
    series = {line.split(" ")[0]: float(line.split(" ")[1]) for line in lines
              if line.startswith("s3gan_operator_reconcile_duration_seconds_")}
    label = '{handler="create"}'
    return (series[f"s3gan_operator_reconcile_duration_seconds_sum{label}"]
            / series[f"s3gan_operator_reconcile_duration_seconds_count{label}"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=10)
    args = parser.parse_args(argv if argv is not None else [])
    why = missing()
    if why:
        print(f"skipped: {why}")
        return
    namespace = WATCHED[0]
    with tempfile.TemporaryDirectory() as workdir:
        plane = ControlPlane.start(Path(workdir) / "kapi")
        operator = None
        try:
            plane.install()
            kubeconfig = plane.token_kubeconfig(OPERATOR_ACCOUNT, OPERATOR_NAMESPACE,
                                                Path(workdir) / "operator.kubeconfig")
            metrics_port, health_port = free_ports(2)
            env = {**os.environ, **OPERATOR_ENV, "KUBECONFIG": str(kubeconfig),
                   "S3GAN_OPERATOR_METRICS_PORT": str(metrics_port)}
            operator = subprocess.Popen(
                [sys.executable, "-m", "s3gan_operator.main", "--standalone",
                 f"--namespace={namespace}", "--quiet",
                 f"--liveness=http://127.0.0.1:{health_port}/healthz"],
                env=env, stdout=subprocess.DEVNULL,
                stderr=(Path(workdir) / "operator.log").open("w"))
            api = Api(plane.kubeconfig)
            _sample(api, "warm-up", namespace)  # discovery, watch streams, the first handler
            cpu_before, wall_before = _cpu_seconds(operator.pid), time.perf_counter()
            samples = [_sample(api, f"exp-{i}", namespace) for i in range(args.experiments)]
            cpu = _cpu_seconds(operator.pid) - cpu_before
            wall = time.perf_counter() - wall_before
            handler = _mean_create_handler_seconds(metrics_port)
        finally:
            if operator is not None:
                operator.terminate()
                operator.wait(timeout=30)
            plane.stop()
    floor = statistics.median(s[0] for s in samples)
    latency = [s[1] for s in samples]
    median = statistics.median(latency)
    print(f"API round trip (baseline): median {floor * 1000:.1f} ms")
    print(f"CR → RayJob as the operator's ServiceAccount: median {median * 1000:.1f} ms, "
          f"max {max(latency) * 1000:.1f} ms over {len(latency)} experiments; "
          f"{median / floor:.1f}× the round trip")
    print(f"create handler (operator's histogram): mean {handler * 1000:.1f} ms; operator CPU "
          f"{cpu:.2f} s over {wall:.1f} s wall")
    verdict = "met" if median < TARGET_SECONDS else "MISSED"
    print(f"target median < {TARGET_SECONDS:.0f} s: {verdict}")


if __name__ == "__main__":
    main(sys.argv[1:])
