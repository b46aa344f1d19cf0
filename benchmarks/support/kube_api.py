"""Clients of the real API server (benchmarks/support/kube_control_plane.py) as the operator
tests and the operator latency benchmark use them: the admin or an impersonated user through a
dynamic client, and the operator's environment as the chart renders it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubernetes import config
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError

KINDS = {"S3GANExperiment": "s3gan.io/v1alpha1", "RayJob": "ray.io/v1", "ConfigMap": "v1",
         "ServiceAccount": "v1", "Secret": "v1", "Event": "v1", "ResourceQuota": "v1",
         "Role": "rbac.authorization.k8s.io/v1", "RoleBinding": "rbac.authorization.k8s.io/v1",
         "ClusterRoleBinding": "rbac.authorization.k8s.io/v1",
         "NetworkPolicy": "networking.k8s.io/v1",
         "SubjectAccessReview": "authorization.k8s.io/v1"}
# The operator's environment as the chart renders it for the tests' release.
OPERATOR_ENV = {"S3GAN_RAY_IMAGE": "ghcr.io/s3gan/ray:0.1.0",
                "S3GAN_ALLOWED_IMAGES": "ghcr.io/s3gan/ray",
                "S3GAN_OPERATOR_NAMESPACE": "s3gan-system",
                "S3GAN_MONITORING_NAMESPACE": "monitoring",
                "S3GAN_OPERATOR_METRICS_ADDRESS": "127.0.0.1"}


class Api:
    """A dynamic client as one identity (the admin's kubeconfig, optionally impersonating)."""

    def __init__(self, kubeconfig: Path, user: str | None = None):
        api_client = config.new_client_from_config(str(kubeconfig))
        if user:  # the server adds system:authenticated to an impersonated user's groups
            api_client.set_default_header("Impersonate-User", user)
        self.dynamic = DynamicClient(api_client)

    def _resource(self, kind: str):
        return self.dynamic.resources.get(api_version=KINDS[kind], kind=kind)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._resource(body["kind"]).create(
            body=body, namespace=body["metadata"].get("namespace")).to_dict()

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        try:
            return self._resource(kind).get(name=name, namespace=namespace).to_dict()
        except NotFoundError:
            return None

    def list(self, kind: str, namespace: str, **selectors) -> list[dict[str, Any]]:
        return self._resource(kind).get(namespace=namespace, **selectors).to_dict()["items"]

    def patch(self, kind: str, name: str, namespace: str, body: dict[str, Any],
              status: bool = False) -> dict[str, Any]:
        resource = self._resource(kind)
        target = resource.status if status else resource
        return target.patch(name=name, namespace=namespace, body=body,
                            content_type="application/merge-patch+json").to_dict()

    def delete(self, kind: str, name: str, namespace: str | None = None) -> None:
        try:
            self._resource(kind).delete(name=name, namespace=namespace)
        except NotFoundError:
            pass

    def allowed(self, user: str, namespace: str, verb: str, group: str, resource: str) -> bool:
        """What the authorizer answers for ``user`` (kubectl auth can-i cannot name a
        resource the server does not serve, such as the ``use`` grants' ones)."""
        review = self.create({"apiVersion": KINDS["SubjectAccessReview"],
                              "kind": "SubjectAccessReview", "metadata": {},
                              "spec": {"user": user, "groups": ["system:authenticated"],
                                       "resourceAttributes": {
                                           "namespace": namespace, "verb": verb,
                                           "group": group, "resource": resource}}})
        return bool(review["status"].get("allowed"))

    def events_for(self, name: str, namespace: str) -> list[dict[str, Any]]:
        return [e for e in self.list("Event", namespace)
                if e["involvedObject"].get("name") == name]
