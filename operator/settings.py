"""The operator's own settings, read from its environment (the Helm chart sets them).

- ``S3GAN_RAY_IMAGE`` (``s3gan-ray:<version>``): image of the Ray head and workers;
- ``S3GAN_RAY_VERSION`` (``2.60.0``): the Ray version inside that image;
- ``S3GAN_RAY_AUTH`` (``token``): KubeRay ``authOptions.mode``, ``token`` or ``off``;
- ``S3GAN_RAY_NETWORK_POLICY`` (``off``): KubeRay ``networkPolicy.mode`` or ``off``;
- ``S3GAN_OPERATOR_METRICS_PORT`` (``9090``): the Prometheus exporter's port, 0 for any free one;
- ``S3GAN_RAY_TERMINATION_GRACE_SECONDS`` (``120``): the Ray pods' termination grace period. On
  SIGTERM (a preempted or drained node) ``ray start`` drains its node for that long less
  ``RAY_TEARDOWN_SECONDS``, the window in which the train stage takes one more G step and saves
  a checkpoint, then stops Ray before the kubelet's SIGKILL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from s3gan import __version__

NETWORK_POLICY_MODES = ("DenyAll", "DenyAllIngress", "DenyAllEgress")  # KubeRay v1.7's enum
RAY_TEARDOWN_SECONDS = 15  # after the drain window: Ray stops its processes on the node
RAY_DEFAULT_DRAIN_SECONDS = 30  # Ray's own RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S
MIN_TERMINATION_GRACE_SECONDS = RAY_DEFAULT_DRAIN_SECONDS + RAY_TEARDOWN_SECONDS


class SettingsError(ValueError):
    """An environment variable of the operator has a value it cannot use."""


@dataclass(frozen=True)
class OperatorSettings:
    ray_image: str = f"s3gan-ray:{__version__}"
    ray_version: str = "2.60.0"
    ray_auth: Literal["token", "off"] = "token"
    # KubeRay's NetworkPolicy support is alpha behind the RayClusterNetworkPolicy feature gate.
    ray_network_policy: Literal["off", "DenyAll", "DenyAllIngress", "DenyAllEgress"] = "off"
    metrics_port: int = 9090
    termination_grace_seconds: int = 120

    @property
    def ray_drain_seconds(self) -> int:
        """``RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S`` of the Ray pods: one G step and one
        checkpoint must fit in it, Ray's teardown after it, and both in the grace period."""
        return self.termination_grace_seconds - RAY_TEARDOWN_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OperatorSettings:
        defaults = cls()
        auth = env.get("S3GAN_RAY_AUTH", defaults.ray_auth)
        if auth not in ("token", "off"):
            raise SettingsError(f"S3GAN_RAY_AUTH must be token or off (got {auth!r})")
        policy = env.get("S3GAN_RAY_NETWORK_POLICY", defaults.ray_network_policy)
        if policy not in ("off", *NETWORK_POLICY_MODES):
            allowed = ", ".join(("off", *NETWORK_POLICY_MODES))
            raise SettingsError(f"S3GAN_RAY_NETWORK_POLICY must be one of {allowed} "
                                f"(got {policy!r})")
        port_text = env.get("S3GAN_OPERATOR_METRICS_PORT", str(defaults.metrics_port))
        if not re.fullmatch(r"\d{1,5}", port_text) or int(port_text) > 65535:
            raise SettingsError(f"S3GAN_OPERATOR_METRICS_PORT must be a port number "
                                f"(got {port_text!r})")
        grace_text = env.get("S3GAN_RAY_TERMINATION_GRACE_SECONDS",
                             str(defaults.termination_grace_seconds))
        least = MIN_TERMINATION_GRACE_SECONDS
        if not re.fullmatch(r"\d{1,6}", grace_text) or int(grace_text) < least:
            raise SettingsError(
                f"S3GAN_RAY_TERMINATION_GRACE_SECONDS must be a whole number of seconds, at least "
                f"{least}: Ray's {RAY_DEFAULT_DRAIN_SECONDS} s default drain window and "
                f"{RAY_TEARDOWN_SECONDS} s to stop Ray (got {grace_text!r})")
        image = env.get("S3GAN_RAY_IMAGE", defaults.ray_image)
        if not image.strip():
            raise SettingsError("S3GAN_RAY_IMAGE must name an image")
        return cls(
            ray_image=image,
            ray_version=env.get("S3GAN_RAY_VERSION", defaults.ray_version),
            ray_auth=auth,
            ray_network_policy=policy,
            metrics_port=int(port_text),
            termination_grace_seconds=int(grace_text),
        )
