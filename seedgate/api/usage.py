"""`GET /v1/usage`: what keys made and spent, by day, model and key (store/reports.py; docs/api.md).

A key reads its own usage; an admin key reads any key's (`key_id`) or everyone's (`key_id=all`). The window is the
last `days` local days (today included) or `since`/`until`; days are the caller's (`tz_offset_min`, minutes east of
UTC). Errors answer in Ark's envelope, as every route of seedgate's own does.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from seedgate.api.deps import Caller, Service
from seedgate.core.errors import ApiError, invalid
from seedgate.store.reports import GROUPS, UsageQuery, known_groups
from seedgate.store.store import ApiKey
from seedgate.tasks.budgets import amount_json

PATH = "/v1/usage"
MAX_DAYS = 400  # a report covers at most this long a window
DEFAULT_DAYS = 30
MAX_OFFSET_MIN = 900  # UTC-14:00 .. UTC+14:00, with room


def owner_for(key: ApiKey, key_id: str) -> str | None:
    """Whose tasks a caller may read: its own (no key_id, or its own ID), or, for an admin key, another key's or
    everyone's ("all": None)."""
    if not key_id or key_id == key.id:
        return key.id
    if not key.admin:
        raise ApiError(403, "AccessDenied", "only an admin key can read another key's usage", "key_id")
    return None if key_id == "all" else key_id


def last_days(days: int, utc_offset_min: int, now: float) -> tuple[float, float]:
    """[start of the local day `days - 1` days ago, now): "the last 7 days" is today and the six before it."""
    if not 1 <= days <= MAX_DAYS:
        raise invalid("days", f"days must be in [1, {MAX_DAYS}]")
    local = now + utc_offset_min * 60
    midnight = local - local % 86400 - utc_offset_min * 60
    return midnight - (days - 1) * 86400, now


def _int(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, f"{name} must be an integer, got {raw[:40]!r}") from None
    if not low <= value <= high:
        raise invalid(name, f"{name} must be in [{low}, {high}]")
    return value


def _instant(raw: str, name: str) -> float:
    """Unix seconds, or an ISO 8601 date or date-time (UTC unless it names its offset)."""
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(name, f"{name} must be unix seconds or an ISO 8601 date, got {raw[:40]!r}") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def query_of(request: Request, key: ApiKey) -> UsageQuery:
    params = request.query_params
    offset = _int(params.get("tz_offset_min"), "tz_offset_min", 0, -MAX_OFFSET_MIN, MAX_OFFSET_MIN)
    names = [n.strip() for value in params.getlist("group_by") for n in value.split(",") if n.strip()]
    try:
        groups = known_groups(names) if names else ("day", "model")
    except ValueError as exc:
        raise invalid("group_by", f"{exc} (combine them with commas)") from None
    since_raw, until_raw = params.get("since"), params.get("until")
    if since_raw or until_raw:
        if params.get("days"):
            raise invalid("days", "give days or since/until, not both")
        until = _instant(until_raw, "until") if until_raw else time.time()
        since = _instant(since_raw, "since") if since_raw else until - DEFAULT_DAYS * 86400
        if not 0 < until - since <= MAX_DAYS * 86400:
            raise invalid("since", f"since must be before until, at most {MAX_DAYS} days before it")
    else:
        days = _int(params.get("days"), "days", DEFAULT_DAYS, 1, MAX_DAYS)
        since, until = last_days(days, offset, time.time())
    owner = owner_for(key, params.get("key_id") or "")
    return UsageQuery(since, until, owner, groups, offset)


router = APIRouter(tags=["usage"])


@router.get(
    PATH,
    summary="Usage and cost by day, model and key (a key's own; an admin key's any key's or everyone's)",
    description=f"Query parameters: days (1-{MAX_DAYS}, default {DEFAULT_DAYS}) or since/until (unix seconds or "
    f"ISO 8601), group_by ({', '.join(GROUPS)}, combined with commas; default day,model), key_id (admin: a key's "
    "ID or all), tz_offset_min (minutes east of UTC whose days count).",
)
async def usage(request: Request, key: Caller, service: Service) -> JSONResponse:
    report = await service.usage(query_of(request, key))
    for budget in report.get("budgets", []):  # amounts in the budget's unit, as /v1/budgets answers them
        unit = budget["unit"]
        for name in ("limit", "used", "remaining"):
            budget[name] = amount_json(unit, budget[name])
        budget["ledger"] = {kind: amount_json(unit, amount) for kind, amount in budget["ledger"].items()}
    return JSONResponse(report)
