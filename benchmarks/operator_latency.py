"""How soon a new experiment's RayJob exists after its S3GANExperiment does.

Three processes, as on a cluster: kmock's Kubernetes emulator (the API server), the operator
(``python -m s3gan_operator.main``, the real console entry), and this client. Each sample
creates one experiment and polls for its RayJob. The baseline, measured in the same run against
the same server, is the API round trip itself: create a ConfigMap, then read it back. Target:
median CR → RayJob latency < 1 s.

    python -m benchmarks operator_latency
    python -m benchmarks.operator_latency --experiments 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

NS = "bench"
VERBS = {"list", "watch", "get", "create", "patch", "update", "delete"}
TARGET_SECONDS = 1.0


def _serve(urls: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    """The emulated API server, in its own process."""
    import kmock

    async def serve() -> None:
        async with kmock.KubernetesEmulator() as emulator, kmock.Server(emulator):
            emulator.resources["s3gan.io/v1alpha1/s3ganexperiments"] = kmock.ResourceInfo(
                kind="S3GANExperiment", namespaced=True, verbs=VERBS, subresources={"status"})
            emulator.resources["ray.io/v1/rayjobs"] = kmock.ResourceInfo(
                kind="RayJob", namespaced=True, verbs=VERBS, subresources={"status"})
            emulator.resources.load_bundled()
            urls.put(str(emulator.url).rstrip("/"))
            while not stop.is_set():
                await asyncio.sleep(0.1)

    asyncio.run(serve())


def _request(method: str, url: str, body: dict | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def _create_then_wait(server: str, collection: str, body: dict, lookup: str) -> float:
    started = time.perf_counter()
    status = _request("POST", server + collection, body)
    if status >= 300:
        raise SystemExit(f"POST {collection}: HTTP {status}")
    while _request("GET", server + lookup) != 200:
        time.sleep(0.002)
    return time.perf_counter() - started


def _experiment(name: str) -> dict:
    return {"apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
            # A real API server assigns these; the emulator does not.
            "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}",
                         "resourceVersion": "1", "generation": 1},
            "spec": {"dataset": {"uri": "s3://bench/data", "resolution": 32, "numClasses": 10},
                     "training": {"globalBatch": 64}}}


def _sample(server: str, name: str) -> tuple[float, float]:
    probe = {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": f"probe-{name}", "namespace": NS}, "data": {}}
    round_trip = _create_then_wait(server, f"/api/v1/namespaces/{NS}/configmaps", probe,
                                   f"/api/v1/namespaces/{NS}/configmaps/probe-{name}")
    latency = _create_then_wait(
        server, f"/apis/s3gan.io/v1alpha1/namespaces/{NS}/s3ganexperiments", _experiment(name),
        f"/apis/ray.io/v1/namespaces/{NS}/rayjobs/{name}")
    return round_trip, latency


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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


def _start_operator(server: str, workdir: Path, metrics_port: int) -> subprocess.Popen:
    kubeconfig = workdir / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "emulator",
        "clusters": [{"name": "emulator", "cluster": {"server": server}}],
        "users": [{"name": "bench", "user": {"token": "unused"}}],
        "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "bench"}}]}))
    env = {**os.environ, "KUBECONFIG": str(kubeconfig),
           "S3GAN_OPERATOR_METRICS_PORT": str(metrics_port)}
    return subprocess.Popen(
        [sys.executable, "-m", "s3gan_operator.main", "--standalone", "--all-namespaces",
         "--quiet", "--liveness=http://127.0.0.1:0/healthz"],
        env=env, stdout=subprocess.DEVNULL, stderr=(workdir / "operator.log").open("w"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=10)
    args = parser.parse_args(argv if argv is not None else [])
    urls, stop = multiprocessing.Queue(), multiprocessing.Event()
    emulator = multiprocessing.Process(target=_serve, args=(urls, stop), daemon=True)
    emulator.start()
    with tempfile.TemporaryDirectory() as workdir:
        server = urls.get(timeout=30)
        metrics_port = _free_port()
        operator = _start_operator(server, Path(workdir), metrics_port)
        try:
            _sample(server, "warm-up")  # discovery, watch streams, the first handler run
            samples = [_sample(server, f"exp-{i}") for i in range(args.experiments)]
            handler = _mean_create_handler_seconds(metrics_port)
        finally:
            operator.terminate()
            operator.wait(timeout=30)
            stop.set()
            emulator.join(timeout=10)
    floor = statistics.median(s[0] for s in samples)
    latency = [s[1] for s in samples]
    median = statistics.median(latency)
    print(f"API round trip (baseline): median {floor * 1000:.1f} ms")
    print(f"CR → RayJob: median {median * 1000:.1f} ms, max {max(latency) * 1000:.1f} ms "
          f"over {len(latency)} experiments; {median / floor:.1f}× the round trip")
    print(f"create handler (operator's histogram): mean {handler * 1000:.1f} ms")
    verdict = "met" if median < TARGET_SECONDS else "MISSED"
    print(f"target median < {TARGET_SECONDS:.0f} s: {verdict}")


if __name__ == "__main__":
    main(sys.argv[1:])
