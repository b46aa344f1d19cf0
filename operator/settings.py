"""The operator's own settings, read from its environment (the Helm chart sets them).

- ``S3GAN_RAY_IMAGE`` (``s3gan-ray:<version>``): image of the Ray head and workers;
- ``S3GAN_RAY_VERSION`` (``2.60.0``): the Ray version inside that image;
- ``S3GAN_RAY_AUTH`` (``token``): KubeRay ``authOptions.mode``, ``token`` or ``off``;
- ``S3GAN_RAY_NETWORK_POLICY`` (``off``): KubeRay ``networkPolicy.mode`` or ``off``;
- ``S3GAN_OPERATOR_METRICS_PORT`` (``9090``): the Prometheus exporter's port, 0 for any free one;
- ``S3GAN_OPERATOR_METRICS_ADDRESS`` (``0.0.0.0``): the address it listens on (scraped from
  other pods; ``127.0.0.1`` outside a pod);
- ``S3GAN_ALLOWED_IMAGES`` (the repository of ``S3GAN_RAY_IMAGE``): comma-separated image
  repositories (``ghcr.io/s3gan/ray``, any tag or digest) or registry prefixes ending in ``/``
  (``registry.example.com/ml/``) that ``spec.cluster.image`` may name;
- ``S3GAN_OPERATOR_NAMESPACE`` and ``S3GAN_MONITORING_NAMESPACE`` (unset): where the operator
  and Prometheus run; each experiment's NetworkPolicy admits them (``S3GAN_NETWORK_POLICY``,
  ``on`` or ``off``, default ``on``);
- ``S3GAN_RAY_TERMINATION_GRACE_SECONDS`` (``120``): the Ray pods' termination grace period. On
  SIGTERM (a preempted or drained node) ``ray start`` drains its node for that long less
  ``RAY_TEARDOWN_SECONDS``, the window in which the train stage takes one more G step and saves
  a checkpoint, then stops Ray before the kubelet's SIGKILL.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from s3gan import __version__

NETWORK_POLICY_MODES = ("DenyAll", "DenyAllIngress", "DenyAllEgress")  # KubeRay v1.7's enum
RAY_TEARDOWN_SECONDS = 15  # after the drain window: Ray stops its processes on the node
RAY_DEFAULT_DRAIN_SECONDS = 30  # Ray's own RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S
MIN_TERMINATION_GRACE_SECONDS = RAY_DEFAULT_DRAIN_SECONDS + RAY_TEARDOWN_SECONDS


def repository_of(image: str) -> str:
    """``ghcr.io/s3gan/ray:1.0@sha256:…`` → ``ghcr.io/s3gan/ray`` (a registry port stays)."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


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
    metrics_address: str = "0.0.0.0"
    allowed_images: tuple[str, ...] = ()  # empty: ray_image's repository
    operator_namespace: str | None = None
    monitoring_namespace: str | None = None
    network_policy: bool = True

    def image_allowed(self, image: str) -> bool:
        """Whether ``image`` lies in an allowed repository (any tag or digest of it) or under an
        allowed prefix ending in ``/``."""
        for allowed in self.allowed_images or (repository_of(self.ray_image),):
            if allowed.endswith("/") and image.startswith(allowed):
                return True
            if repository_of(image) == allowed:
                return True
        return False

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
        address = env.get("S3GAN_OPERATOR_METRICS_ADDRESS", defaults.metrics_address)
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise SettingsError(f"S3GAN_OPERATOR_METRICS_ADDRESS must be an IP address "
                                f"(got {address!r})") from None
        allowed = tuple(a.strip() for a in env.get("S3GAN_ALLOWED_IMAGES", "").split(",")
                        if a.strip())
        switch = env.get("S3GAN_NETWORK_POLICY", "on")
        if switch not in ("on", "off"):
            raise SettingsError(f"S3GAN_NETWORK_POLICY must be on or off (got {switch!r})")
        return cls(
            metrics_address=address,
            allowed_images=allowed,
            operator_namespace=env.get("S3GAN_OPERATOR_NAMESPACE") or None,
            monitoring_namespace=env.get("S3GAN_MONITORING_NAMESPACE") or None,
            network_policy=switch == "on",
            ray_image=image,
            ray_version=env.get("S3GAN_RAY_VERSION", defaults.ray_version),
            ray_auth=auth,
            ray_network_policy=policy,
            metrics_port=int(port_text),
            termination_grace_seconds=int(grace_text),
        )
