"""The Ark task API as an upstream (Volcengine Ark, BytePlus ModelArk, or another seedgate): ark_api.md §3-4."""

from __future__ import annotations

from typing import Any

from seedgate.core.plan import TaskPlan
from seedgate.dialects import ark

from .wire import HttpClient, Outgoing, UpstreamTask

PATH = "/contents/generations/tasks"
_STATUSES = {"queued", "running", "succeeded", "failed", "expired", "cancelled"}


def create_body(out: Outgoing) -> dict[str, Any]:
    body = ark.create_body(out.spec, out.upstream_model, out.media_urls)
    # Ark echoes safety_identifier on every read of the task: it is how an unanswered create is recognised later.
    body["safety_identifier"] = out.marker
    if out.callback_url:
        body["callback_url"] = out.callback_url
    return body


def parse_task(data: dict[str, Any]) -> UpstreamTask:
    status = str(data.get("status") or "")
    content: dict[str, Any] = data["content"] if isinstance(data.get("content"), dict) else {}
    error = data.get("error") if isinstance(data.get("error"), dict) else None
    progress = data.get("progress")
    return UpstreamTask(
        id=str(data.get("id")),
        # An unknown word keeps the task followed rather than failing it on a vocabulary mismatch.
        status=status if status in _STATUSES else "running",
        video_url=content.get("video_url"),
        last_frame_url=content.get("last_frame_url"),
        usage=data.get("usage") if isinstance(data.get("usage"), dict) else None,
        error={"code": str(error.get("code") or "InternalServiceError"), "message": str(error.get("message") or "")}
        if error
        else None,
        progress=float(progress) if isinstance(progress, int | float) else None,
        duration=data.get("duration") if isinstance(data.get("duration"), int) else None,
        frames=data.get("frames") if isinstance(data.get("frames"), int) else None,
        marker=data.get("safety_identifier"),
        created_at=float(data["created_at"]) if isinstance(data.get("created_at"), int | float) else None,
        model=data.get("model"),
        raw=data,
    )


class ArkClient(HttpClient):
    path = PATH
    parse = staticmethod(parse_task)
    batch_reads = True
    echoes_marker = True

    async def create(self, out: Outgoing) -> str:
        return await self.send_create(json=create_body(out))

    async def get_many(self, upstream_ids: list[str]) -> dict[str, UpstreamTask]:
        """One list call for many tasks (`filter.task_ids` repeated), its token already taken by the caller; IDs
        missing from the answer are unknown."""
        assert self.lists is not None
        params = [("page_num", "1"), ("page_size", str(len(upstream_ids)))]
        params += [("filter.task_ids", i) for i in upstream_ids]
        response = await self.read("GET", PATH, self.lists, prepaid=True, params=params)
        items = response.json().get("items", []) if response is not None else []
        return {t.id: t for t in map(parse_task, items if isinstance(items, list) else [])}

    async def find(self, marker: str, upstream_model: str, spec: TaskPlan | None, since: float) -> list[UpstreamTask]:
        """Tasks on the upstream that carry this create's marker: the model's newest tasks, page by page, back to
        the time the create was sent (the marker alone identifies them: `spec` is not needed)."""
        found: list[UpstreamTask] = []
        for page in range(1, 6):
            params = [("page_num", str(page)), ("page_size", "100"), ("filter.model", upstream_model)]
            response = await self.read("GET", PATH, self.lists or self.queries, params=params)
            items = response.json().get("items", []) if response is not None else []
            tasks = list(map(parse_task, items if isinstance(items, list) else []))
            found += [t for t in tasks if t.marker == marker]
            if len(tasks) < 100 or found or min((t.created_at or 0) for t in tasks) < since - 60:
                break
        return found

    def result_urls(self, task: UpstreamTask) -> dict[str, str]:
        return {k: v for k, v in (("video", task.video_url), ("last_frame", task.last_frame_url)) if v}
