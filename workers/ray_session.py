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
# Driver-side lines below error level that only tell how to undo a choice made here (token
# authentication of the embedded cluster, on as it should be; Ray Data's progress bars, off: the
# stages print their own progress lines) or how long a Ray Data pass took (the stages say).
DATA_NOISE = ("ray.data._internal.progress", "ray.data._internal.execution.streaming_executor")
DRIVER_NOISE = ("ray._private.authentication.authentication_token_setup", *DATA_NOISE)


def quiet_without_state_api() -> None:
    """Worker set-up of the embedded cluster, which runs without the dashboard and so without
    Ray's state API: Ray Train's placement-group cleaner polls that API every second and warns
    each time it is missing. Ray removes every placement group when the embedded cluster shuts
    down with the run, so nothing is lost by silencing it there."""
    logging.getLogger(PLACEMENT_GROUP_CLEANER).setLevel(logging.ERROR)


# Lines Ray's workers print that say nothing to the user of a run: Ray Train's PreemptionWatcher
# actor and each actor of a Ray Data pool (its transform) are logged at error level by Ray's
# core worker every time they start (their constructor arguments live in the object store and
# they may restart: harmless by design), and the embedded cluster's placement-group cleaner,
# which has no state API to ask (see above).
CONSOLE_NOISE = ("Actor with class name: 'PreemptionWatcher'", "Actor with class name: 'MapWorker(")
QUIET_ACTORS = ("PlacementGroupCleaner",)
_RAY_PRINT_HANDLER = "ray_print_logs"  # ray._private.worker's handler of forwarded worker output


def quiet_data() -> None:
    """Ray Data in this process: no progress blocks, context dumps or timing lines."""
    from ray.data import DataContext

    for name in DATA_NOISE:
        logging.getLogger(name).setLevel(logging.ERROR)
    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False


def off_the_driver(function, *args):
    """``function(*args)`` in a task of its own, for code that runs a Ray Data actor pool: Ray's
    core worker logs each of the pool's actors at error level (see :data:`CONSOLE_NOISE`) in the
    process that runs the dataset, straight to its stderr in a driver, through the filter of
    :func:`quiet_console` in a worker."""
    import ray

    def quietly(*given):
        quiet_data()
        return function(*given)

    return ray.get(ray.remote(num_cpus=0)(quietly).remote(*args))


def quiet_console() -> None:
    """After ``ray.init``: the console gets what the workers print minus :data:`CONSOLE_NOISE`
    and the :data:`QUIET_ACTORS`' output (all of it stays in Ray's log files), and no Ray Data
    progress blocks or context dumps (the stages print their own progress lines)."""
    from ray._private.ray_logging import global_worker_stdstream_dispatcher

    quiet_data()
    original = next((h for name, h in global_worker_stdstream_dispatcher.handlers
                     if name == _RAY_PRINT_HANDLER), None)
    if original is None:  # log_to_driver off, or Ray's internals changed: leave it be
        return

    def filtered(data: dict) -> None:
        if data.get("actor_name") in QUIET_ACTORS:
            return
        lines = [line for line in data.get("lines", ())
                 if not any(noise in line for noise in CONSOLE_NOISE)]
        if lines:
            original({**data, "lines": lines})

    global_worker_stdstream_dispatcher.remove_handler(_RAY_PRINT_HANDLER)
    global_worker_stdstream_dispatcher.add_handler(_RAY_PRINT_HANDLER, filtered)


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

    for name in DRIVER_NOISE:
        logging.getLogger(name).setLevel(logging.ERROR)
    if address:
        ray.init(address=address, log_to_driver=True,
                 runtime_env={"env_vars": WORKER_ENVIRONMENT})
        quiet_console()
        return
    ray.init(num_cpus=num_cpus or os.cpu_count(), _node_ip_address="127.0.0.1",
             include_dashboard=False, _temp_dir=temp_dir, log_to_driver=True,
             runtime_env={"env_vars": WORKER_ENVIRONMENT,
                          "worker_process_setup_hook":
                              f"{__name__}.{quiet_without_state_api.__name__}"})
    quiet_console()
    listening = ray.get_runtime_context().gcs_address.rsplit(":", 1)[0]
    if listening != "127.0.0.1":
        logger.warning("the embedded Ray cluster listens on %s, not only on 127.0.0.1: set %s=0 "
                       "before Ray is imported (s3gan run and s3gan sweep do)", listening,
                       SINGLE_MACHINE)
