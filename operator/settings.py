"""The operator's own settings, read from its environment (the Helm chart sets them).

- ``S3GAN_RAY_IMAGE`` (``s3gan-ray:<version>``): image of the Ray head and workers;
- ``S3GAN_RAY_VERSION`` (``2.60.0``): the Ray version inside that image;
- ``S3GAN_RAY_AUTH`` (``token``): KubeRay ``authOptions.mode``, ``token`` or ``off``;
- ``S3GAN_RAY_NETWORK_POLICY`` (``off``): KubeRay ``networkPolicy.mode`` or ``off``;
- ``S3GAN_OPERATOR_METRICS_PORT`` (``9090``): the Prometheus exporter's port, 0 for any free one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from s3gan import __version__

NETWORK_POLICY_MODES = ("DenyAll", "DenyAllIngress", "DenyAllEgress")  # KubeRay v1.7's enum


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
        image = env.get("S3GAN_RAY_IMAGE", defaults.ray_image)
        if not image.strip():
            raise SettingsError("S3GAN_RAY_IMAGE must name an image")
        return cls(
            ray_image=image,
            ray_version=env.get("S3GAN_RAY_VERSION", defaults.ray_version),
            ray_auth=auth,
            ray_network_policy=policy,
            metrics_port=int(port_text),
        )
