"""Asset and asset-group persistence. An asset row is also its own audit job: `processing` rows are claimed with a
lease, so an audit interrupted by a crash is picked up again by any node."""

from __future__ import annotations

import builtins
import json
import math
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from seedgate.core.asset import Asset, AssetGroup, AssetStatus

from .schema import asset_groups, assets


def _plausible(ident: str) -> bool:
    """IDs are short printable strings; anything else matches nothing (and never reaches PostgreSQL, which refuses
    NUL bytes in text with an error rather than a miss)."""
    return 0 < len(ident) <= 64 and ident.isprintable()


def _stored_json(text: str) -> Any:
    """A stored JSON column; NaN/Infinity (written before the API refused them) read as null, so that one old row
    cannot make every listing fail when the answer is encoded."""
    return json.loads(
        text, parse_constant=lambda _: None, parse_float=lambda t: v if math.isfinite(v := float(t)) else None
    )


def _asset(row: Any) -> Asset:
    error = {"code": row.error_code, "message": row.error_message or ""} if row.error_code else None
    return Asset(
        id=row.id,
        owner=row.owner,
        kind=row.kind,
        name=row.name,
        group_id=row.group_id,
        status=AssetStatus(row.status),
        source_url=row.source_url,
        blob=row.blob,
        info=_stored_json(row.info),
        error=error,
        metadata=_stored_json(row.metadata),
        created_at=row.created_at,
        updated_at=row.updated_at,
        expires_at=row.expires_at,
        attempts=row.attempts,
    )


def _group(row: Any) -> AssetGroup:
    return AssetGroup(row.id, row.owner, row.name, row.description, row.group_type, row.created_at, row.updated_at)


class AssetStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # -- assets -------------------------------------------------------------------------------------------------

    async def insert(self, asset: Asset) -> None:
        row = {
            "id": asset.id,
            "owner": asset.owner,
            "group_id": asset.group_id,
            "name": asset.name,
            "kind": asset.kind,
            "status": asset.status.value,
            "source_url": asset.source_url,
            "blob": asset.blob,
            "info": json.dumps(asset.info),
            "metadata": json.dumps(asset.metadata, ensure_ascii=False),
            "created_at": asset.created_at,
            "updated_at": asset.updated_at,
            "expires_at": asset.expires_at,
            "attempts": 0,
        }
        async with self.engine.begin() as conn:
            await conn.execute(assets.insert().values(**row))

    async def get(self, asset_id: str, owner: str | None = None) -> Asset | None:
        if not _plausible(asset_id):
            return None
        query = sa.select(assets).where(assets.c.id == asset_id)
        if owner is not None:
            query = query.where(assets.c.owner == owner)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _asset(row) if row else None

    async def list(
        self,
        owner: str,
        *,
        ids: Sequence[str] = (),
        group_ids: Sequence[str] = (),
        statuses: Sequence[AssetStatus] = (),
        kinds: Sequence[str] = (),
        name: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> tuple[int, list[Asset]]:
        where = [assets.c.owner == owner]
        if ids:
            where.append(assets.c.id.in_([i for i in ids if _plausible(i)]))
        if group_ids:
            where.append(assets.c.group_id.in_([g for g in group_ids if _plausible(g)]))
        if statuses:
            where.append(assets.c.status.in_([s.value for s in statuses]))
        if kinds:
            where.append(assets.c.kind.in_(list(kinds)))
        if name:
            where.append(assets.c.name.icontains(name, autoescape=True))
        async with self.engine.connect() as conn:
            total = (await conn.execute(sa.select(sa.func.count()).select_from(assets).where(*where))).scalar_one()
            page = (
                sa.select(assets)
                .where(*where)
                .order_by(assets.c.created_at.desc(), assets.c.id.desc())
                .offset(offset)
                .limit(limit)
            )
            rows = (await conn.execute(page)).all()
        return total, [_asset(r) for r in rows]

    async def update(self, owner: str, asset_id: str, now: float, **values: Any) -> bool:
        """Change what a caller may change (name, group, metadata); the audit's results are not theirs to edit."""
        if not _plausible(asset_id):
            return False
        if "metadata" in values:
            values["metadata"] = json.dumps(values["metadata"], ensure_ascii=False)
        async with self.engine.begin() as conn:
            result = await conn.execute(
                assets.update().where(assets.c.id == asset_id, assets.c.owner == owner).values(**values, updated_at=now)
            )
        return result.rowcount > 0

    async def delete(self, asset_id: str, owner: str | None = None) -> bool:
        if not _plausible(asset_id):
            return False
        query = assets.delete().where(assets.c.id == asset_id)
        if owner is not None:
            query = query.where(assets.c.owner == owner)
        async with self.engine.begin() as conn:
            result = await conn.execute(query)
        return result.rowcount > 0

    # -- the audit queue ----------------------------------------------------------------------------------------

    async def claim_audit(self, worker_id: str, lease_s: float, now: float) -> Asset | None:
        """Lease the oldest `processing` asset nobody holds (or whose holder stopped renewing)."""
        candidates = (
            sa.select(assets.c.id)
            .where(
                assets.c.status == AssetStatus.PROCESSING.value,
                sa.or_(assets.c.lease_expires_at.is_(None), assets.c.lease_expires_at < now),
            )
            .order_by(assets.c.created_at)
            .limit(8)
        )
        async with self.engine.connect() as conn:
            ids = (await conn.execute(candidates)).scalars().all()
        for asset_id in ids:
            # A conditional update is the lock: of two nodes racing for a row, one sees rowcount 0 and moves on.
            async with self.engine.begin() as conn:
                won = await conn.execute(
                    assets.update()
                    .where(
                        assets.c.id == asset_id,
                        assets.c.status == AssetStatus.PROCESSING.value,
                        sa.or_(assets.c.lease_expires_at.is_(None), assets.c.lease_expires_at < now),
                    )
                    .values(lease_owner=worker_id, lease_expires_at=now + lease_s, attempts=assets.c.attempts + 1)
                )
                if won.rowcount:
                    row = (await conn.execute(sa.select(assets).where(assets.c.id == asset_id))).first()
                    return _asset(row)
        return None

    async def settle_audit(self, asset: Asset, worker_id: str, now: float) -> bool:
        """Record the audit's outcome, if this worker still holds the lease (False: someone else took over)."""
        error = asset.error or {}
        async with self.engine.begin() as conn:
            result = await conn.execute(
                assets.update()
                .where(
                    assets.c.id == asset.id,
                    assets.c.lease_owner == worker_id,
                    assets.c.status == AssetStatus.PROCESSING.value,
                )
                .values(
                    status=asset.status.value,
                    kind=asset.kind,
                    blob=asset.blob,
                    info=json.dumps(asset.info),
                    error_code=error.get("code"),
                    error_message=error.get("message"),
                    updated_at=now,
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
        return result.rowcount > 0

    # -- retention ----------------------------------------------------------------------------------------------

    async def expired(self, now: float, limit: int = 500) -> builtins.list[Asset]:
        query = sa.select(assets).where(assets.c.expires_at < now).limit(limit)
        async with self.engine.connect() as conn:
            return [_asset(r) for r in (await conn.execute(query)).all()]

    async def blobs(self) -> set[str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(assets.c.blob).where(assets.c.blob.is_not(None)).distinct())
            return set(rows.scalars().all())

    # -- groups -------------------------------------------------------------------------------------------------

    async def insert_group(self, group: AssetGroup) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                asset_groups.insert().values(
                    id=group.id,
                    owner=group.owner,
                    name=group.name,
                    description=group.description,
                    group_type=group.group_type,
                    created_at=group.created_at,
                    updated_at=group.updated_at,
                )
            )

    async def get_group(self, group_id: str, owner: str) -> AssetGroup | None:
        if not _plausible(group_id):
            return None
        query = sa.select(asset_groups).where(asset_groups.c.id == group_id, asset_groups.c.owner == owner)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _group(row) if row else None

    async def list_groups(
        self, owner: str, *, ids: Sequence[str] = (), name: str | None = None, offset: int = 0, limit: int = 20
    ) -> tuple[int, builtins.list[AssetGroup]]:
        where = [asset_groups.c.owner == owner]
        if ids:
            where.append(asset_groups.c.id.in_([i for i in ids if _plausible(i)]))
        if name:
            where.append(asset_groups.c.name.icontains(name, autoescape=True))
        async with self.engine.connect() as conn:
            count = sa.select(sa.func.count()).select_from(asset_groups).where(*where)
            total = (await conn.execute(count)).scalar_one()
            page = (
                sa.select(asset_groups)
                .where(*where)
                .order_by(asset_groups.c.created_at.desc(), asset_groups.c.id.desc())
                .offset(offset)
                .limit(limit)
            )
            rows = (await conn.execute(page)).all()
        return total, [_group(r) for r in rows]

    async def update_group(self, owner: str, group_id: str, now: float, **values: Any) -> bool:
        if not _plausible(group_id):
            return False
        async with self.engine.begin() as conn:
            result = await conn.execute(
                asset_groups.update()
                .where(asset_groups.c.id == group_id, asset_groups.c.owner == owner)
                .values(**values, updated_at=now)
            )
        return result.rowcount > 0

    async def delete_group(self, owner: str, group_id: str) -> bool:
        """A group goes with the assets in it (Volcengine's DeleteAssetGroup)."""
        if not _plausible(group_id):
            return False
        async with self.engine.begin() as conn:
            result = await conn.execute(
                asset_groups.delete().where(asset_groups.c.id == group_id, asset_groups.c.owner == owner)
            )
            if result.rowcount:
                await conn.execute(assets.delete().where(assets.c.group_id == group_id, assets.c.owner == owner))
        return result.rowcount > 0
