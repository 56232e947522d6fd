"""Media resolution returns a new checked request: the plan's references are never changed in place."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from seedgate.core.asset import Asset, AssetStatus
from seedgate.core.catalog import load_catalog
from seedgate.core.errors import ApiError
from seedgate.core.spec import MediaRef, TaskSpec
from seedgate.core.validation import settle_geometry, validate
from seedgate.media.fetch import Fetcher, FetchPolicy
from seedgate.media.resolve import resolve_media
from seedgate.media.storage import Storage

CATALOG = load_catalog()


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(FetchPolicy()) as f:
        yield f


async def _stored(storage: Storage, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    part = storage.tmp / f"{digest}.part"
    part.write_bytes(data)
    return await storage.adopt_blob(part, digest)


async def test_resolution_returns_new_references_and_leaves_the_checked_request_alone(
    tmp_path: Path, fetcher: Fetcher
) -> None:
    storage = Storage(tmp_path)
    blob = await _stored(storage, b"an audited portrait image")
    asset = Asset("asset_1", "k1", "image", status=AssetStatus.ACTIVE, blob=blob, info={"width": 600, "height": 1000})

    async def find(asset_id: str) -> Asset | None:
        return asset if asset_id == asset.id else None

    request = TaskSpec(
        model="doubao-seedance-1-0-pro-250528",
        prompt="a cat",
        media=[MediaRef("image", "asset://asset_1", None, "content[1].image_url.url")],
    )
    checked = validate(request, CATALOG)
    resolved = await resolve_media(checked, fetcher, storage, find)

    assert checked.media[0].blob is None and checked.media[0].width is None  # unchanged
    ref = resolved.media[0]
    assert (ref.blob, ref.width, ref.height, ref.role) == (blob, 600, 1000, "first_frame")
    plan = settle_geometry(resolved, CATALOG)
    assert (plan.ratio, plan.width, plan.height) == ("9:16", 1088, 1920)  # the measured size decided `adaptive`
    assert await resolve_media(resolved, fetcher, storage, None) == resolved  # resolved items are not fetched again


async def test_an_unknown_asset_names_the_item(tmp_path: Path, fetcher: Fetcher) -> None:
    request = TaskSpec(
        model="doubao-seedance-1-0-pro-250528",
        media=[MediaRef("image", "asset://asset_9", None, "content[1].image_url.url")],
    )
    with pytest.raises(ApiError) as caught:
        await resolve_media(validate(request, CATALOG), fetcher, Storage(tmp_path), None)
    assert caught.value.param == "content[1].image_url.url" and "asset_9 is not found" in caught.value.message
