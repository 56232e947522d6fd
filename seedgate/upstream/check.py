"""`seedgate channels check`: does each channel answer, is its key accepted, and which of its models it lists."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx

from .ark_client import PATH as ARK_PATH
from .channels import Channel, Channels
from .openai_client import PATH as OPENAI_PATH


@dataclass
class ChannelReport:
    channel: str
    kind: str
    base_url: str
    ok: bool
    detail: str
    # catalog model -> "listed" | "not listed" | "unverified" (Ark has no model listing for task models)
    models: dict[str, str] = field(default_factory=dict)


def _models_url(channel: Channel) -> str | None:
    if channel.kind == "seedgate":
        return channel.base_url.removesuffix("/api/v3") + "/v1/models"
    if channel.kind == "openai-videos":
        return channel.base_url + "/models"
    return None


async def check_channel(channel: Channel, http: httpx.AsyncClient) -> ChannelReport:
    report = ChannelReport(channel.name, channel.kind, channel.base_url, ok=False, detail="")
    if not channel.key:
        report.detail = f"the key variable ${channel.key_env} is not set"
        return report
    headers = {"Authorization": f"Bearer {channel.key}"}
    probe = (
        f"{channel.base_url}{ARK_PATH}?page_size=1"
        if channel.speaks_ark
        else f"{channel.base_url}{OPENAI_PATH}?limit=1"
    )
    try:
        answer = await http.get(probe, headers=headers)
    except httpx.HTTPError as exc:
        report.detail = f"no answer: {type(exc).__name__}: {exc}"
        return report
    if answer.status_code in (401, 403):
        report.detail = f"the key was refused ({answer.status_code})"
        return report
    if answer.status_code >= 400:
        report.detail = f"the task API answered {answer.status_code}"
        return report
    report.ok, report.detail = True, "answers; key accepted"
    listed: set[str] | None = None
    if models_url := _models_url(channel):
        try:
            entries = [
                m for m in (await http.get(models_url, headers=headers)).json().get("data", []) if isinstance(m, dict)
            ]
            listed = {name for m in entries for name in (m.get("id"), *m.get("aliases", []))}
        except (httpx.HTTPError, ValueError, AttributeError):
            listed = None
    for model, upstream in channel.models.items():
        report.models[model] = "unverified" if listed is None else "listed" if upstream in listed else "not listed"
    return report


async def check_channels(channels: Channels, timeout_s: float = 10.0) -> list[ChannelReport]:
    async with httpx.AsyncClient(timeout=timeout_s) as http:
        return list(await asyncio.gather(*(check_channel(c, http) for c in channels.channels)))
