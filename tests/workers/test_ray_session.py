"""`s3gan run`'s embedded Ray cluster: on 127.0.0.1 only, its files kept apart, and workers that
print each line once and stay quiet about the missing state API."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from s3gan_workers import ray_session

PROBE = """
import json, logging, os, sys
from s3gan_workers import ray_session

ray_session.embedded_on_loopback()  # as `s3gan run` does, before Ray is imported
import ray
from s3gan_workers import pipeline
from s3gan.data.storage import open_location

temp_dir = pipeline.ray_temp_dir(open_location(sys.argv[1]))
ray_session.connect(temp_dir, num_cpus=1)

@ray.remote
def worker_view():
    return {"print_patch": os.environ.get("RAY_TRAIN_ENABLE_PRINT_PATCH"),
            "checksums": os.environ.get("AWS_REQUEST_CHECKSUM_CALCULATION"),
            "cleaner_level": logging.getLogger(ray_session.PLACEMENT_GROUP_CLEANER).level}

class Same:
    def __call__(self, batch):
        return batch

def pooled_rows():  # as the labels stage runs its actor pool
    return ray.data.range(4).map_batches(Same, compute=ray.data.ActorPoolStrategy(size=1)).count()

view = ray.get(worker_view.remote())
view["rows"] = ray.data.range(4).map_batches(lambda batch: batch).count()
view["pooled_rows"] = ray_session.off_the_driver(pooled_rows)
view["gcs_address"] = ray.get_runtime_context().gcs_address
view["node_ip"] = ray.nodes()[0]["NodeManagerAddress"]
view["temp_dir"] = temp_dir
ray.shutdown()
print(json.dumps(view))
"""


@pytest.mark.slow
def test_the_embedded_cluster_keeps_its_files_apart_and_its_workers_are_set_up(tmp_path):
    # tmp_path is too long for Ray's socket paths: the run's Ray files go to a short
    # directory in /tmp named after the run, as `s3gan run` does for such run directories.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], env=environment,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    view = json.loads(done.stdout.strip().splitlines()[-1])
    assert view["print_patch"] == "0" and view["rows"] == view["pooled_rows"] == 4
    # Neither how to switch the embedded cluster's token authentication off nor how to switch
    # Ray Data's progress bars back on reaches the console.
    assert "Token authentication is enabled" not in done.stderr + done.stdout
    assert "Progress bars disabled" not in done.stderr + done.stdout
    assert "execution finished in" not in done.stderr + done.stdout
    # Nor Ray's error-level line on each actor of a Ray Data pool.
    assert "constructor arguments in the object store" not in done.stderr + done.stdout
    assert view["checksums"] == "WHEN_REQUIRED"
    assert view["cleaner_level"] == 40  # logging.ERROR, set by the worker set-up hook
    assert view["node_ip"] == "127.0.0.1" and view["gcs_address"].startswith("127.0.0.1:")
    temp_dir = Path(view["temp_dir"])
    try:
        assert temp_dir.parent == Path("/tmp") and temp_dir.name.startswith("s3gan-ray-")
        assert list(temp_dir.glob("session_*/logs"))  # Ray's files went there
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)


JOIN = """
import json, sys
from s3gan.cli.run_cmd import add_run_arguments
import argparse
parser = argparse.ArgumentParser()
add_run_arguments(parser)
args = parser.parse_args([])
from s3gan_workers import ray_session
import ray

ray_session.connect(sys.argv[1], args.address, args.num_cpus)
print(json.dumps({"address": args.address, "cpus": ray.cluster_resources().get("CPU"),
                  "nodes": len(ray.nodes())}))
"""


@pytest.mark.slow
def test_a_job_entrypoint_joins_the_cluster_in_ray_address_instead_of_starting_one(
        ray_cluster, tmp_path):
    # Ray's job supervisor gives a job's entrypoint its cluster's GCS address this way.
    # The test cluster is on loopback, so this driver keeps single-machine mode too
    # (inherited); a RayJob's RAY_ADDRESS is its head pod's routable address.
    gcs = ray_cluster.address_info["gcs_address"]
    done = subprocess.run([sys.executable, "-c", JOIN, str(tmp_path)],
                          env={**os.environ, "RAY_ADDRESS": gcs},
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    joined = json.loads(done.stdout.strip().splitlines()[-1])
    assert joined == {"address": gcs, "cpus": 2.0, "nodes": 1}  # the test cluster's 2 CPUs


def test_single_machine_mode_is_for_embedded_clusters_only(monkeypatch):
    from s3gan_workers import ray_session

    monkeypatch.delenv(ray_session.SINGLE_MACHINE, raising=False)
    ray_session.embedded_on_loopback("10.0.0.7:6379")  # a driver of an existing cluster
    assert ray_session.SINGLE_MACHINE not in os.environ
    ray_session.embedded_on_loopback(None)
    assert os.environ[ray_session.SINGLE_MACHINE] == "0"


def test_the_console_gets_worker_output_without_ray_s_known_noise():
    from ray._private.ray_logging import global_worker_stdstream_dispatcher as dispatcher
    from ray.data import DataContext

    printed = []
    dispatcher.add_handler("ray_print_logs", printed.append)  # as ray.init(log_to_driver=True)
    try:
        ray_session.quiet_console()
        dispatcher.emit({"actor_name": "TrainController", "lines": [
            "[2026-12-01 19:57:19 E 28774 28834] core_worker.cc:2465: Actor with class name: "
            "'PreemptionWatcher' and ID: '62' has constructor arguments in the object store",
            "Started training worker group of size 1"]})
        dispatcher.emit({"actor_name": "PlacementGroupCleaner", "lines": ["Traceback ..."]})
        dispatcher.emit({"task_name": "_evaluate", "lines": ["evaluate: FID 41.20"]})
    finally:
        dispatcher.remove_handler("ray_print_logs")
    assert [d["lines"] for d in printed] == [["Started training worker group of size 1"],
                                             ["evaluate: FID 41.20"]]
    context = DataContext.get_current()
    assert not context.enable_progress_bars and not context.print_on_execution_start
