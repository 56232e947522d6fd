"""Deleting a task: its record, its deliveries already made, its blobs' references and its result files."""

from __future__ import annotations

from seedgate.media.storage import Storage
from seedgate.store.store import Store


async def delete_task_and_files(store: Store, storage: Storage, task_id: str) -> bool:
    """The one way a task goes away (a client's DELETE, retention); False when no such record was left."""
    deleted = await store.delete_task(task_id)
    # Files go even when the record was already gone: a concurrent delete may have died between the two steps.
    await storage.delete_results(task_id)
    return deleted
