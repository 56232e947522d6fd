"""What operators do with budgets, over HTTP (api/budgets.py) and from the command line (`seedgate budgets`): define
them from plain fields, change them, link keys to them, read their books. Field errors name the field."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from seedgate.core.errors import ApiError, invalid, not_found
from seedgate.core.limits import MICRO, PERIODS, Budget, parse_money
from seedgate.store.budgets import BudgetBook, Entry
from seedgate.store.store import Store

_UNIT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SMALL = 10**9  # rpm, queue and running limits


def budget_json(budget: Budget, keys: list[str] | None = None) -> dict[str, Any]:
    """A budget as the API answers it: amounts in its unit (money as a decimal number, tokens as an integer)."""
    body: dict[str, Any] = {
        "id": budget.id,
        "object": "budget",
        "name": budget.name,
        "unit": budget.unit,
        "limit": amount_json(budget.unit, budget.limit),
        "used": amount_json(budget.unit, budget.used),
        "remaining": amount_json(budget.unit, budget.remaining()),
        "period": budget.period,
        "period_start": int(budget.period_start),
        "models": list(budget.models) if budget.models is not None else None,
        "expires_at": int(budget.expires_at) if budget.expires_at is not None else None,
        "rpm": budget.rpm,
        "max_queued": budget.max_queued,
        "max_running": budget.max_running,
        "created_at": int(budget.created_at),
    }
    if keys is not None:
        body["keys"] = keys
    return body


def amount_json(unit: str, amount: int | None) -> float | int | None:
    if amount is None or unit == "tokens":
        return amount
    return round(amount / MICRO, 6)


def entry_json(unit: str, entry: Entry) -> dict[str, Any]:
    return {
        "at": entry.at,
        "kind": entry.kind,
        "amount": amount_json(unit, entry.amount),
        "task_id": entry.task_id,
        "key_id": entry.key_id,
        "model": entry.model,
        "tokens": entry.tokens,
    }


def budget_fields(body: dict[str, Any], base: Budget | None = None) -> Budget:
    """A budget from request fields (`base`: the budget being changed; only the fields given change)."""
    budget = base or Budget("", "", "tokens")
    if base is None:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise invalid("name", "name must be a non-empty string of at most 200 characters")
        unit = body.get("unit", "tokens")
        if not isinstance(unit, str) or not (unit == "tokens" or (len(unit) == 3 and set(unit) <= _UNIT_CHARS)):
            raise invalid("unit", 'unit must be "tokens" or a currency code such as "CNY" or "USD"')
        budget = replace(budget, name=name.strip(), unit=unit)
    elif "unit" in body and body["unit"] != base.unit:
        raise invalid("unit", "a budget's unit cannot change (its books are in it); make a new budget")
    changes: dict[str, Any] = {}
    if "limit" in body:
        changes["limit"] = _amount(budget.unit, body["limit"])
    if "period" in body:
        if body["period"] is not None and body["period"] not in PERIODS:
            raise invalid("period", f"period must be one of {', '.join(PERIODS)} or null")
        changes["period"] = body["period"]
    if "models" in body:
        models = body["models"]
        if models is not None and (not isinstance(models, list) or not all(isinstance(m, str) for m in models)):
            raise invalid("models", "models must be a list of model IDs or null")
        changes["models"] = tuple(models) if models is not None else None
    if "expires_at" in body:
        changes["expires_at"] = _number(body["expires_at"], "expires_at")
    for field in ("rpm", "max_queued", "max_running"):
        if field in body:
            changes[field] = _count(body[field], field)
    return replace(budget, **changes)


def _amount(unit: str, value: Any) -> int | None:
    if value is None:
        return None
    if unit == "tokens":
        return _count(value, "limit")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise invalid("limit", f'limit must be an amount of {unit}, such as 100 or "12.50"')
    try:
        amount = parse_money(str(value))
    except ValueError as exc:
        raise invalid("limit", str(exc)) from None
    if amount < 0:
        raise invalid("limit", "limit must not be negative")
    return amount


def _count(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**15:
        raise invalid(field, f"{field} must be a whole number from 0, or null")
    if field != "limit" and value > _SMALL:
        raise invalid(field, f"{field} must be at most {_SMALL}")
    return value


def _number(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 2**40:
        raise invalid(field, f"{field} must be a Unix time in seconds, or null")
    return float(value)


class BudgetAdmin:
    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def book(self) -> BudgetBook:
        return self.store.budgets

    async def create(self, body: dict[str, Any]) -> Budget:
        budget = budget_fields(body)
        if await self.book.get(budget.name) is not None:
            raise ApiError(409, "InvalidAction", f"a budget named {budget.name!r} exists", "name")
        return await self.book.create(budget)

    async def find(self, ident: str) -> Budget:
        budget = await self.book.get(ident)
        if budget is None:
            raise not_found("budget", ident, "budget_id")
        return budget

    async def update(self, ident: str, body: dict[str, Any]) -> Budget:
        budget = await self.find(ident)
        changed = budget_fields(body, budget)
        wanted = {f: getattr(changed, f) for f in ("limit", "period", "models", "expires_at", "rpm")}
        wanted.update(max_queued=changed.max_queued, max_running=changed.max_running)
        updated = await self.book.update(budget.id, **wanted)
        if updated is None:
            raise not_found("budget", ident, "budget_id")
        return updated

    async def delete(self, ident: str) -> None:
        await self.book.delete((await self.find(ident)).id)

    async def link(self, ident: str, key_id: str) -> Budget:
        budget = await self.find(ident)
        if await self.store.key_by_id(key_id) is None:
            raise not_found("API key", key_id, "key_id")
        await self.book.link(key_id, budget.id)
        return budget

    async def unlink(self, ident: str, key_id: str) -> None:
        await self.book.unlink(key_id, (await self.find(ident)).id)

    async def keys(self, budget: Budget) -> list[str]:
        return await self.book.keys_of(budget.id)

    async def ledger(self, budget: Budget, since: float = 0.0) -> list[Entry]:
        return await self.book.entries(budget_id=budget.id, since=since)

    async def all(self) -> list[Budget]:
        return await self.book.all()
