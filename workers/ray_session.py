"""Connecting to Ray for `s3gan run` and `s3gan sweep`: an existing cluster (``address``) or an
embedded one on 127.0.0.1 whose temporary directory sits in the run directory.

Ray 2.60 replaces a node address of 127.0.0.1 by the machine's routable one and binds its gRPC
servers to every interface, unless it runs in single-machine mode (``SINGLE_MACHINE``, named
for Windows and macOS, where that mode is the default). The mode is read when Ray is imported,
so :func:`embedded_on_loopback` must run first; this module imports Ray only inside
:func:`connect` for that reason.
"""

from __future__ import annotations

import logging
import os

from s3gan.data.storage import S3_CLIENT_ENVIRONMENT

SINGLE_MACHINE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
logger = logging.getLogger(__name__)

# Ray Train 2.60 sends a training function's print() to its logger and, where Ray has wrapped
# stdout (every Ray worker), to stdout as well: each progress line reached the console twice.
# Off, print() writes once to the worker's stdout, which Ray forwards to the driver.
WORKER_ENVIRONMENT = {**S3_CLIENT_ENVIRONMENT, "RAY_TRAIN_ENABLE_PRINT_PATCH": "0"}
PLACEMENT_GROUP_CLEANER = "ray.train.v2._internal.execution.controller.placement_group_cleaner"


def quiet_without_state_api() -> None:
    """Worker set-up of the embedded cluster, which runs without the dashboard and so without
    Ray's state API: Ray Train's placement-group cleaner polls that API every second and warns
    each time it is missing. Ray removes every placement group when the embedded cluster shuts
    down with the run, so nothing is lost by silencing it there."""
    logging.getLogger(PLACEMENT_GROUP_CLEANER).setLevel(logging.ERROR)


def embedded_on_loopback(address: str | None = None) -> None:
    """Before Ray is imported: an embedded cluster started by this process listens on
    127.0.0.1 only (its workers, started by it, inherit the setting). Nothing when ``address``
    names an existing cluster, whose nodes must reach this driver on a routable address."""
    if not address:
        os.environ.setdefault(SINGLE_MACHINE, "0")


def connect(temp_dir: str, address: str | None = None, num_cpus: int | None = None) -> None:
    """``ray.init`` for a run: ``address`` for an existing cluster, else an embedded cluster of
    ``num_cpus`` (all cores by default) bound to 127.0.0.1, its files under ``temp_dir``."""
    import ray

    if address:
        ray.init(address=address, log_to_driver=True,
                 runtime_env={"env_vars": WORKER_ENVIRONMENT})
        return
    ray.init(num_cpus=num_cpus or os.cpu_count(), _node_ip_address="127.0.0.1",
             include_dashboard=False, _temp_dir=temp_dir, log_to_driver=True,
             runtime_env={"env_vars": WORKER_ENVIRONMENT,
                          "worker_process_setup_hook":
                              f"{__name__}.{quiet_without_state_api.__name__}"})
    listening = ray.get_runtime_context().gcs_address.rsplit(":", 1)[0]
    if listening != "127.0.0.1":
        logger.warning("the embedded Ray cluster listens on %s, not only on 127.0.0.1: set %s=0 "
                       "before Ray is imported (s3gan run and s3gan sweep do)", listening,
                       SINGLE_MACHINE)
