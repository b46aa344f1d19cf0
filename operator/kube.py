"""The few Kubernetes calls the operator makes, asynchronous, through the client's DynamicClient.

Children are created, or, when one already exists (a restart, a retry), taken as they are if the
experiment controls them, so a resumed operator never duplicates or rewrites a running RayJob.
An object of the same name that the experiment does not control is never adopted: it may be a
Role or a RayJob someone else wrote, and the experiment would borrow it.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from kubernetes import client, config
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import (
    ApiException,
    ConflictError,
    NotFoundError,
    ResourceNotFoundError,
)

MERGE = "application/merge-patch+json"


class ForeignOwnerError(RuntimeError):
    """A child's name is taken by an object the experiment does not control."""


class ChildError(RuntimeError):
    """The API server refused a child (quota, admission, RBAC); the message says why."""


def _reason(error: ApiException) -> str:
    try:
        return json.loads(error.body)["message"]
    except (TypeError, ValueError, KeyError):
        return str(error.reason)


def _load_configuration() -> client.ApiClient:
    """In a pod: its ServiceAccount; elsewhere: $KUBECONFIG or ~/.kube/config."""
    try:
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        return client.ApiClient(configuration)
    except config.ConfigException:
        # Read now, not at import: the client's module default is frozen when first imported.
        return config.new_client_from_config(os.environ.get("KUBECONFIG", "~/.kube/config"))


class Kube:
    def __init__(self, dynamic: DynamicClient):
        self._dynamic = dynamic

    @classmethod
    async def connect(cls, kinds: tuple[tuple[str, str], ...] = ()) -> Kube:
        """Connect and look up each (apiVersion, kind) now: a missing CRD (KubeRay's) fails
        the start-up with its name instead of the first experiment, and discovery is warm."""
        kube = cls(await asyncio.to_thread(lambda: DynamicClient(_load_configuration())))
        for api_version, kind in kinds:
            try:
                await asyncio.to_thread(kube._resource, api_version, kind)
            except ResourceNotFoundError:
                raise ResourceNotFoundError(
                    f"the API server does not serve {kind} ({api_version}); install its CRD"
                ) from None
        return kube

    def _resource(self, api_version: str, kind: str):
        return self._dynamic.resources.get(api_version=api_version, kind=kind)

    async def get(self, api_version: str, kind: str, name: str,
                  namespace: str) -> dict[str, Any] | None:
        resource = self._resource(api_version, kind)
        try:
            found = await asyncio.to_thread(resource.get, name=name, namespace=namespace)
        except NotFoundError:
            return None
        return found.to_dict()

    async def patch(self, api_version: str, kind: str, name: str, namespace: str,
                    body: dict[str, Any], status: bool = False) -> dict[str, Any]:
        resource = self._resource(api_version, kind)
        target = resource.status if status else resource
        patched = await asyncio.to_thread(target.patch, body=body, name=name,
                                          namespace=namespace, content_type=MERGE)
        return patched.to_dict()

    async def may(self, verb: str, group: str, resource: str, name: str,
                  namespace: str) -> bool:
        """Whether the operator's own identity may ``verb`` the object (SelfSubjectAccessReview,
        which every authenticated identity may ask)."""
        review = self._resource("authorization.k8s.io/v1", "SelfSubjectAccessReview")
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {"namespace": namespace, "verb": verb,
                                                "group": group, "resource": resource,
                                                "name": name}}}
        answer = await asyncio.to_thread(review.create, body=body)
        return bool(answer.to_dict().get("status", {}).get("allowed"))

    async def create_or_take(self, wanted: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """The live object and whether it was created now."""
        meta = wanted["metadata"]
        resource = self._resource(wanted["apiVersion"], wanted["kind"])
        try:
            created = await asyncio.to_thread(resource.create, body=wanted,
                                              namespace=meta["namespace"])
            return created.to_dict(), True
        except ConflictError:
            pass
        except ApiException as e:
            raise ChildError(f"{wanted['kind']} {meta['name']}: {_reason(e)}") from None
        live = await self.get(wanted["apiVersion"], wanted["kind"], meta["name"],
                              meta["namespace"])
        if live is None:  # deleted between the two calls; the handler's retry creates it
            raise ChildError(f"{wanted['kind']} {meta['name']} vanished while being read")
        ours = wanted["metadata"]["ownerReferences"][0]["uid"]
        controller = next((r for r in live["metadata"].get("ownerReferences") or []
                           if r.get("controller")), None)
        if controller is None or controller.get("uid") != ours:
            held = (f"controlled by {controller.get('kind')} {controller.get('name')}"
                    if controller else "not created by this experiment")
            raise ForeignOwnerError(f"{live['kind']} {meta['name']} exists and is {held}; "
                                    "rename the experiment or delete that object")
        return live, False
