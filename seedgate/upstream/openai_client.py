"""An OpenAI-style `/v1/videos` API as an upstream (gateways.md §A): text and first-frame tasks only.

The OpenAI shape has no field that echoes a caller's marker, so an unanswered create is recognised by what it
asked for (model, prompt, size, seconds) among the videos created since it was sent.
"""

from __future__ import annotations

from typing import Any

from seedgate.core.plan import TaskPlan
from seedgate.media.probe import sniff_mime

from .wire import HttpClient, Outgoing, Rejected, UpstreamTask

PATH = "/videos"
_STATUSES = {
    "queued": "queued",
    "in_progress": "running",
    "completed": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
    "expired": "expired",
}
MODES = ("text", "first_frame")


def create_fields(spec: TaskPlan, upstream_model: str) -> dict[str, str]:
    fields = {"model": upstream_model, "prompt": spec.prompt}
    if spec.duration and spec.duration > 0:
        fields["seconds"] = str(spec.duration)
    if spec.width and spec.height:
        fields["size"] = f"{spec.width}x{spec.height}"
    return fields


def parse_video(data: dict[str, Any]) -> UpstreamTask:
    status = _STATUSES.get(str(data.get("status")), "running")
    error = data.get("error") if isinstance(data.get("error"), dict) else None
    progress = data.get("progress")
    seconds = data.get("seconds")
    return UpstreamTask(
        id=str(data.get("id")),
        status=status,
        error={"code": str(error.get("code") or "failed"), "message": str(error.get("message") or "")}
        if error
        else None,
        progress=float(progress) / 100 if isinstance(progress, int | float) else None,
        duration=int(seconds) if isinstance(seconds, str) and seconds.isdigit() else None,
        created_at=float(data["created_at"]) if isinstance(data.get("created_at"), int | float) else None,
        model=data.get("model"),
        prompt=data.get("prompt"),
        raw=data,
    )


class OpenAIVideosClient(HttpClient):
    path = PATH
    parse = staticmethod(parse_video)
    batch_reads = False
    echoes_marker = False

    async def create(self, out: Outgoing) -> str:
        spec = out.spec
        if spec.mode not in MODES:
            raise Rejected(
                "InvalidParameter",
                f"the upstream channel {self.channel.name} (OpenAI videos) takes text and first-frame tasks only",
            )
        fields = create_fields(spec, out.upstream_model)
        if spec.media:
            # The first frame travels as a multipart file: the OpenAI shape takes no image URLs.
            path = out.media_paths[0]
            files = {"input_reference": (path.name, path.read_bytes(), sniff_mime(path))}
            return await self.send_create(data=fields, files=files)
        return await self.send_create(json=fields)

    async def get_many(self, upstream_ids: list[str]) -> dict[str, UpstreamTask]:
        raise NotImplementedError("the OpenAI shape has no list by IDs (batch_reads is False)")

    async def find(self, marker: str, upstream_model: str, spec: TaskPlan | None, since: float) -> list[UpstreamTask]:
        if spec is None:  # no marker to go by: only what the create asked for tells it apart
            return []
        response = await self.read("GET", PATH, params={"limit": "100", "order": "desc"})
        items = response.json().get("data", []) if response is not None else []
        wanted = create_fields(spec, upstream_model)
        found = []
        for video in map(parse_video, items if isinstance(items, list) else []):
            same = (
                video.prompt == wanted["prompt"]
                and video.model == upstream_model
                and video.raw.get("size", wanted.get("size")) == wanted.get("size")
            )
            if same and (video.created_at or 0) >= since - 5:
                found.append(video)
        return sorted(found, key=lambda v: v.created_at or 0)

    def result_urls(self, task: UpstreamTask) -> dict[str, str]:
        # Content comes from the API itself, with the channel's key; there is no last frame in this shape.
        return {"video": f"{self.channel.base_url}{PATH}/{task.id}/content"}
