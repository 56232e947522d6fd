"""Per-line asset pools: a vendor model line that keeps its own assets refuses another line's.

MoonApiX asks callers to create assets per model line and not to use a `seedance-2.0-kz` asset on the `-cl` line
(seed 002); jimmyai's SP models take assets from the SP library. The pool of a model is catalog data
(`asset_pool`); the pool of an asset is set when a vendor's upload route creates it for a line (kept in the asset's
metadata under `pool`). Only a line with a pool is strict: it refuses assets made for another line. Assets from
seedgate's own library carry no pool and are accepted by every line, and lines without a pool take any asset.

Checked before the media are resolved, from the asset records alone: a record that holds no media at all (a
jimmyai SP `text` asset) is refused here too, with a message that says so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from seedgate.core.asset import Asset, asset_id_of
from seedgate.core.catalog import Catalog
from seedgate.core.errors import invalid
from seedgate.core.plan import CheckedSpec

POOL_KEY = "pool"


def pool_of(asset: Asset) -> str | None:
    pool = asset.metadata.get(POOL_KEY)
    return pool if isinstance(pool, str) and pool else None


def pool_metadata(catalog: Catalog, model: str | None) -> dict[str, str]:
    """What an upload made for `model` records on its asset: the model's line pool, if it has one."""
    profile = catalog.find(model) if model else None
    if profile is None or profile.asset_pool is None:
        return {}
    return {POOL_KEY: profile.asset_pool, "model": model or ""}


async def check_asset_pools(
    spec: CheckedSpec, catalog: Catalog, find_asset: Callable[[str], Awaitable[Asset | None]]
) -> None:
    """Refuse an asset:// reference whose asset belongs to another line's pool than the validated model's."""
    profile = catalog.models.get(spec.model_id)
    if profile is None:
        return
    for ref in spec.media:
        asset_id = asset_id_of(ref.url)
        if asset_id is None:
            continue
        asset = await find_asset(asset_id)
        if asset is not None and asset.kind is None and asset.metadata.get("type") == "text":
            raise invalid(ref.param or "content", f"the asset {asset_id} is a text asset, not {ref.kind} media")
        pool = pool_of(asset) if asset is not None else None
        # Only a line with a pool of its own is strict; the others take any of the caller's assets.
        if pool is None or profile.asset_pool is None or pool == profile.asset_pool:
            continue
        made_for = asset.metadata.get("model") if asset is not None else None
        raise invalid(
            ref.param or "content",
            f"the asset {asset_id} was created for the {made_for or pool} model line and cannot be used "
            f"with {spec.model}; create or confirm the asset for this model line first",
        )
