"""Shared fixtures: paths, and (in later modules) one Ray cluster and one S3 server per run."""

from __future__ import annotations

from pathlib import Path

import pytest
from s3gan_workers import ray_session

# Before any test module imports Ray: the tests' Ray clusters listen on 127.0.0.1 only.
ray_session.embedded_on_loopback()

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """One real S3 server (Swift + s3api on 127.0.0.1) per test run; its credentials are
    exported as the standard AWS variables, the way a user's environment provides them."""
    from tests.fixtures.s3server import S3_ENVIRONMENT, SwiftS3Server, missing_binaries

    missing = missing_binaries()
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: install with `make tools`")
    server = SwiftS3Server(tmp_path_factory.mktemp("s3") / "swift").start()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in S3_ENVIRONMENT.items():
            patch.setenv(name, value)
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory):
    """One local Ray cluster (2 CPUs, loopback, no dashboard) per test run. Its workers get the
    test S3 server's credentials, which are fixed, so they can read from ``s3_server``."""
    import ray

    from s3gan.data.storage import S3_CLIENT_ENVIRONMENT
    from tests.fixtures.s3server import S3_ENVIRONMENT

    context = ray.init(
        num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False,
        _temp_dir=str(tmp_path_factory.mktemp("ray")), log_to_driver=False,
        runtime_env={"env_vars": S3_ENVIRONMENT | S3_CLIENT_ENVIRONMENT},
    )
    assert context.address_info["gcs_address"].startswith("127.0.0.1:"), context.address_info
    try:
        yield context
    finally:
        ray.shutdown()


@pytest.fixture
async def kubernetes_api(kmock, tmp_path, monkeypatch):
    """kmock's emulated Kubernetes API serving S3GANExperiments and RayJobs, found through
    $KUBECONFIG the way the operator finds a real one."""
    from tests.fixtures.kubernetes_api import serve_s3gan_resources, write_kubeconfig

    serve_s3gan_resources(kmock)
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(kmock, tmp_path / "kubeconfig")))
    return kmock


@pytest.fixture(scope="session")
def kube(tmp_path_factory):
    """The real control plane, once per run, with the CRDs and the chart installed (namespaced
    over ``WATCHED``); skipped, saying why, where ../shared or etcd is absent."""
    from benchmarks.support.kube_control_plane import ControlPlane, missing

    why = missing()
    if why:
        pytest.skip(why)
    try:
        plane = ControlPlane.start(tmp_path_factory.mktemp("kapi"))
    except RuntimeError:  # a port taken between choosing and binding it: once more, new ports
        plane = ControlPlane.start(tmp_path_factory.mktemp("kapi"))
    try:
        plane.install()
        yield plane
    finally:
        plane.stop()


@pytest.fixture(scope="session")
def operator_kubeconfig(kube, tmp_path_factory):
    """A kubeconfig holding a token of the chart's operator ServiceAccount: the operator in the
    tests has exactly the rights the chart grants it."""
    from benchmarks.support.kube_control_plane import OPERATOR_ACCOUNT, OPERATOR_NAMESPACE

    return kube.token_kubeconfig(OPERATOR_ACCOUNT, OPERATOR_NAMESPACE,
                                 tmp_path_factory.mktemp("operator") / "kubeconfig")
