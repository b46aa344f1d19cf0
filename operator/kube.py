"""The few Kubernetes calls the operator makes, asynchronous, through the client's DynamicClient.

Children are created, or, when one already exists (a restart, a retry), adopted: the
experiment's owner reference and labels are merged into it and nothing else is changed, so a
resumed operator never duplicates or rewrites a running RayJob.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from kubernetes import client, config
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ConflictError, NotFoundError, ResourceNotFoundError

MERGE = "application/merge-patch+json"


class ForeignOwnerError(RuntimeError):
    """A child's name is taken by an object another controller owns."""


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

    async def delete(self, api_version: str, kind: str, name: str, namespace: str) -> bool:
        """Delete in the foreground (dependents first); False when it was already gone."""
        resource = self._resource(api_version, kind)
        try:
            await asyncio.to_thread(resource.delete, name=name, namespace=namespace,
                                    body={"propagationPolicy": "Foreground"})
        except NotFoundError:
            return False
        return True

    async def create_or_adopt(self, wanted: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """The live object and whether it was created now."""
        meta = wanted["metadata"]
        resource = self._resource(wanted["apiVersion"], wanted["kind"])
        try:
            created = await asyncio.to_thread(resource.create, body=wanted,
                                              namespace=meta["namespace"])
            return created.to_dict(), True
        except ConflictError:
            pass
        live = await self.get(wanted["apiVersion"], wanted["kind"], meta["name"],
                              meta["namespace"])
        if live is None:  # deleted between the two calls; the handler's retry creates it
            raise RuntimeError(f"{wanted['kind']} {meta['name']} vanished while being adopted")
        return await self._adopt(live, wanted), False

    async def _adopt(self, live: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
        ours = wanted["metadata"]["ownerReferences"][0]
        references = live["metadata"].get("ownerReferences") or []
        if any(r.get("uid") == ours["uid"] for r in references):
            return live
        other = next((r for r in references if r.get("controller")), None)
        if other is not None:
            raise ForeignOwnerError(
                f"{live['kind']} {live['metadata']['name']} is controlled by "
                f"{other.get('kind')} {other.get('name')}; rename or delete it")
        body = {"metadata": {"ownerReferences": references + [ours],
                             "labels": wanted["metadata"]["labels"]}}
        meta = wanted["metadata"]
        return await self.patch(wanted["apiVersion"], wanted["kind"], meta["name"],
                                meta["namespace"], body)
