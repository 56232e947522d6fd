"""Requests that reproduce a task, in each client's own words: curl, the Ark Python SDK, the OpenAI Python SDK.

Built from the stored (validated) spec, so the defaults the server chose (seed, resolution, ratio, duration) are
spelled out and a rerun gives the same video.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from seedgate.core.plan import TaskPlan
from seedgate.dialects.ark import PREFIX as ARK_PREFIX
from seedgate.dialects.ark import create_body

# What a draft's final request takes over from the draft itself: the final request must not repeat it.
_FROM_DRAFT = {"seed", "ratio", "generate_audio", "camera_fixed"}
_DATA_URL_LIMIT = 512
_KEY_ENV = "SEEDGATE_API_KEY"


def _media_url(url: str) -> str:
    # An inline upload (OpenAI input_reference) is megabytes of base64: no use in a snippet to copy.
    if url.startswith("data:") and len(url) > _DATA_URL_LIMIT:
        return "<inline upload: upload the file to /v1/assets and use asset://ID here>"
    return url


def ark_body(spec: TaskPlan) -> dict[str, Any]:
    """The Ark create body that asks for exactly this task. Without its callback_url, on purpose: a rerun from a
    laptop should not call the original app's webhook."""
    body = create_body(spec, spec.model_name, [_media_url(m.url) for m in spec.media])
    if spec.safety_identifier:
        body["safety_identifier"] = spec.safety_identifier
    if body.get("service_tier") == "default":
        del body["service_tier"]
    if spec.draft_task_id:
        # A final video names its draft, which fixes the media, the length and what _FROM_DRAFT lists.
        body["content"] = [item for item in body["content"] if item["type"] == "text"]
        body["content"].append({"type": "draft_task", "draft_task": {"id": spec.draft_task_id}})
        for name in (*_FROM_DRAFT, "duration", "frames"):
            body.pop(name, None)
    return body


def _python(value: Any) -> str:
    """A JSON value as Python source (true/false/null differ)."""
    return repr(json.loads(json.dumps(value)))


def curl(spec: TaskPlan, base_url: str) -> str:
    data = json.dumps(ark_body(spec), ensure_ascii=False, indent=2)
    return (
        f"curl -sS {shlex.quote(base_url + ARK_PREFIX)} \\\n"
        f'  -H "Authorization: Bearer ${_KEY_ENV}" \\\n'
        f"  -H 'Content-Type: application/json' \\\n"
        f"  -d {shlex.quote(data)}"
    )


def ark_sdk(spec: TaskPlan, base_url: str) -> str:
    body = ark_body(spec)
    model, content = body.pop("model"), body.pop("content")
    lines = [
        "import os",
        "",
        "from volcenginesdkarkruntime import Ark",
        "",
        f"client = Ark(base_url={base_url + '/api/v3'!r}, api_key=os.environ[{_KEY_ENV!r}])",
        "task = client.content_generation.tasks.create(",
        f"    model={model!r},",
        f"    content={_python(content)},",
    ]
    # extra_body works with every SDK version, whichever options its signature names.
    if body:
        lines.append(f"    extra_body={_python(body)},")
    lines += [")", "print(task.id)"]
    return "\n".join(lines)


def _openai_native(spec: TaskPlan) -> bool:
    """Whether OpenAI's own fields (model, prompt, seconds, size, input_reference) say everything that matters."""
    if spec.draft_task_id or spec.frames_requested or spec.mode not in ("text", "first_frame"):
        return False
    extras = (
        "camera_fixed",
        "watermark",
        "generate_audio",
        "draft",
        "return_last_frame",
        "tools",
        "omni_reference_task_type",
    )
    return not any(getattr(spec, name) for name in extras)


def openai_sdk(spec: TaskPlan, base_url: str) -> str:
    head = [
        "import os",
        "",
        "from openai import OpenAI",
        "",
        f"client = OpenAI(base_url={base_url + '/v1'!r}, api_key=os.environ[{_KEY_ENV!r}])",
    ]
    if _openai_native(spec) and spec.width and spec.height and spec.duration:
        lines = head + [
            "# OpenAI's fields carry no seed: this run draws a new one (the Ark request repeats the seed too).",
            "video = client.videos.create(",
            f"    model={spec.model_name!r},",
            f"    prompt={spec.prompt!r},",
            f"    seconds={str(spec.duration)!r},",
            f"    size={f'{spec.width}x{spec.height}'!r},",
        ]
        if spec.media:
            extra = {"input_reference": {"image_url": _media_url(spec.media[0].url)}}
            lines.append(f"    extra_body={_python(extra)},")
        return "\n".join([*lines, ")", "print(video.id, video.status)"])
    # OpenAI's fields cannot say this (references, last frame, audio, draft...): /v1/videos also takes an Ark body.
    head.insert(1, "import httpx")
    return "\n".join(
        head
        + [
            "# OpenAI's own fields cannot express this task; seedgate's /v1/videos also accepts the Ark body.",
            f"response = client.post('/videos', body={_python(ark_body(spec))}, cast_to=httpx.Response)",
            "print(response.json())",
        ]
    )


def snippets(spec: TaskPlan, base_url: str) -> dict[str, str]:
    return {"curl": curl(spec, base_url), "ark": ark_sdk(spec, base_url), "openai": openai_sdk(spec, base_url)}
