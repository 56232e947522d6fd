"""Webhook endpoints a key subscribes to events (OpenAI's /v1/webhook_endpoints): the operations, not the wire."""

from __future__ import annotations

import base64
import builtins
import secrets
import time
from typing import Any

from seedgate.core.errors import not_found
from seedgate.store.store import Endpoint, Store

ROTATION_OVERLAP_S = 24 * 3600  # how long a rotated-out secret still signs deliveries when the caller asks


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class EndpointService:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, owner: str, *, name: str, url: str, event_types: list[str]) -> Endpoint:
        now = time.time()
        endpoint = Endpoint(
            id=f"we_{secrets.token_hex(12)}",
            owner=owner,
            name=name,
            url=url,
            event_types=event_types,
            secret=new_secret(),
            created_at=now,
            updated_at=now,
        )
        await self.store.insert_endpoint(endpoint)
        return endpoint

    async def list(self, owner: str) -> builtins.list[Endpoint]:
        """Oldest first; a key has a handful, so callers page the list themselves."""
        return await self.store.list_endpoints(owner)

    async def get(self, owner: str, endpoint_id: str) -> Endpoint:
        """The owner's endpoint; 404 for unknown or foreign IDs."""
        found = next((e for e in await self.store.list_endpoints(owner) if e.id == endpoint_id), None)
        if found is None:
            raise not_found("webhook endpoint", endpoint_id, "webhook_endpoint_id")
        return found

    async def update(self, owner: str, endpoint_id: str, values: dict[str, Any]) -> Endpoint:
        await self.store.update_endpoint(owner, endpoint_id, **values)
        return await self.get(owner, endpoint_id)

    async def rotate_secret(self, endpoint: Endpoint, *, keep_old: bool) -> Endpoint:
        """A new signing secret. Without `keep_old` the old one stops at once (OpenAI's default); with it,
        deliveries carry both signatures for ROTATION_OVERLAP_S."""
        until = time.time() + ROTATION_OVERLAP_S if keep_old else None
        await self.store.update_endpoint(
            endpoint.owner,
            endpoint.id,
            secret=new_secret(),
            previous_secret=endpoint.secret if keep_old else None,
            previous_secret_until=until,
        )
        return await self.get(endpoint.owner, endpoint.id)

    async def delete(self, owner: str, endpoint_id: str) -> bool:
        return await self.store.delete_endpoint(owner, endpoint_id)
