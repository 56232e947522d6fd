"""OpenAI's edits, extensions and characters, mapped onto Seedance's reference-video tasks and the asset library.

- `POST /v1/videos/edits` and `POST /v1/videos/extensions` take `video` as an uploaded file, `{"id": ...}` (a
  completed video of the same key), or a URL / `asset://` reference. The source becomes a `reference_video` of a
  multimodal-reference task. A model that has task types in the catalog (`task_types = true`, Seedance 2.5) gets
  `omni_reference_task_type` `edit` / `extend` with Ark's rules for them (ratio `adaptive`, an edit's duration
  `-1`); the others (Seedance 2.0) get the plain reference video, which is how Ark documents editing and extending
  on 2.0. The ratio always follows the source (`adaptive`), the resolution is the model's nearest to the source's.
- Lengths: an edit keeps the source's length (2.0: the source's seconds within the model's range; 2.5: `-1`, the
  model decides). An extension's `seconds` is the length added; the task's length is the stitched total, source
  plus extension, which is also what OpenAI's `Video.seconds` reports for an extension.
- Characters are video assets in the caller's library (`name` is the asset's name, the character ID is the asset
  ID, usable as `asset://ID` in every dialect). A create, edit or extension uses them through `characters`
  (IDs or `{"id": ...}`) or by mentioning `@ID` or `@name` in the prompt; each becomes a reference video.

This module builds specs and reads assets; openai_videos.py owns the routes and the answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.datastructures import UploadFile

from seedgate.assets.library import check_name, check_source_url
from seedgate.core.asset import Asset, AssetStatus
from seedgate.core.catalog import Catalog, ModelProfile
from seedgate.core.errors import invalid, missing, model_not_found, not_found
from seedgate.core.spec import MediaRef, TaskSpec
from seedgate.core.status import Status
from seedgate.media.resolve import MAX_BYTES

from .bodies import INT, STR, URL, Field, any_of, array, describe, obj
from .openai_forms import string_field

if TYPE_CHECKING:
    from seedgate.tasks.service import TaskService

EDIT, EXTEND = "edit", "extend"
# Errors about the source name the field the client sent it in.
WIRE_NAMES = {
    "duration": "seconds",
    "resolution": "video",
    "ratio": "video",
    "media": "video",
    "media.video": "video",
    "omni_reference_task_type": "video",
}
# Marks the assets made through `POST /v1/videos/characters`, the ones a prompt may mention by name.
CHARACTER_MARK = {"openai_character": True}
_MENTION = re.compile(r"@([\w-]+)")
_MAX_MENTIONS = 10

_CHARACTER = any_of(STR, obj(Field("id", STR, required=True)))
CHARACTERS = Field(
    "characters",
    any_of(_CHARACTER, array(_CHARACTER)),
    f"Up to {_MAX_MENTIONS} character IDs (or {{id}}); each becomes a reference video. @ID or @name in the prompt "
    "names one too",
)
_SOURCE = Field(
    "video",
    any_of(URL, obj(Field("id", STR, "A completed video of the same key", required=True))),
    "The source: an uploaded file (multipart), {id} of a completed video, or a URL / asset:// reference",
    required=True,
)
_MODEL = Field("model", STR, "A model that takes reference videos; the default when left out")
EDIT_BODY = describe(Field("prompt", STR, required=True), _SOURCE, _MODEL, CHARACTERS)
EXTEND_BODY = describe(
    Field("prompt", STR, required=True),
    _SOURCE,
    Field("seconds", any_of(STR, INT), "The whole seconds to add", required=True),
    _MODEL,
    CHARACTERS,
)
CHARACTER_BODY = describe(
    Field("name", STR, "The character's name, which a prompt may mention as @name", required=True),
    Field("video", URL, "The character's video: an uploaded file (multipart) or an http(s) URL", required=True),
)


@dataclass
class Source:
    ref: MediaRef  # resolved: blob, width, height and seconds are known
    model: str | None  # the model that made it, when it is one of this server's videos


# -- the source video ---------------------------------------------------------------------------------------------


async def _from_task(service: TaskService, owner: str, video_id: str) -> Source:
    task = await service.owned_task(owner, video_id)
    if task is None:
        raise not_found("video", video_id, "video.id")
    if task.status is not Status.SUCCEEDED or not task.result:
        raise invalid(
            "video.id",
            f"the video {video_id} has not completed (it is {task.status.value}); only a "
            "completed video can be edited or extended",
        )
    stored = await service.video_file(task)
    if stored is None:
        raise invalid("video.id", f"the content of video {video_id} is no longer stored")
    size = stored.size
    if size > MAX_BYTES["video"]:
        raise invalid(
            "video.id",
            f"the video {video_id} is {size // (1024 * 1024)} MB; a reference video may be "
            f"at most {MAX_BYTES['video'] // (1024 * 1024)} MB",
        )
    # The task needs bytes of its own: the source's results may be deleted or expire before it runs.
    ref = await service.video_from_result(task, "video.id")
    if ref is None:
        raise invalid("video.id", f"the content of video {video_id} is no longer stored")
    return Source(ref, task.spec.model_name)


async def source_video(service: TaskService, owner: str, value: Any) -> Source:
    """The `video` field as a resolved reference video."""
    if value is None:
        raise missing("video")
    if isinstance(value, UploadFile):
        return Source(await service.video_from_upload(value, "video"), None)
    if isinstance(value, dict):
        video_id = value.get("id")
        if not isinstance(video_id, str) or not video_id.strip():
            raise invalid(
                "video.id" if "id" in value else "video",
                'video must be a video file or {"id": "<the ID of a completed video>"}',
            )
        return await _from_task(service, owner, video_id.strip())
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if "://" not in text:
            return await _from_task(service, owner, text)
        ref = MediaRef("video", text, "reference_video", "video")  # a URL or an asset:// reference
        (ref,) = await service.resolve_refs(owner, [ref])
        return Source(ref, None)
    raise invalid("video", 'video must be a video file, {"id": "<video id>"} or a video URL')


# -- the task -----------------------------------------------------------------------------------------------------


def _profile(catalog: Catalog, model: str) -> ModelProfile:
    profile = catalog.find(model)
    if profile is None:
        raise model_not_found(model)
    return profile


def _takes_video(profile: ModelProfile) -> bool:
    return "reference" in profile.modes and profile.reference.videos[1] > 0


def choose_model(catalog: Catalog, values: dict[str, Any], source: Source, default: str) -> str:
    """The model named in the request; else the source's own model when it takes reference videos; else the
    default."""
    named = string_field(values, "model")
    if named:
        return named
    if source.model and (profile := catalog.find(source.model)) is not None and _takes_video(profile):
        return source.model
    return default


def nearest_resolution(catalog: Catalog, profile: ModelProfile, ref: MediaRef) -> str | None:
    """The model's resolution whose short side is nearest the source's (a 720p source stays 720p)."""
    if not ref.width or not ref.height:
        return None
    table = catalog.geometry[profile.family]
    allowed = [r for r in profile.resolutions_for("reference") if r in table]
    if not allowed:
        return None
    short = min(ref.width, ref.height)
    return min(allowed, key=lambda r: abs(min(table[r].get("16:9") or next(iter(table[r].values()))) - short))


def edit_duration(profile: ModelProfile, seconds: float | None) -> int:
    """An edit keeps the source's length: `-1` where the model has task types (Ark requires it for `edit`), else
    the source's seconds within the model's range."""
    if profile.task_types:
        return -1
    rule = profile.duration
    length = min(max(round(seconds or rule.min), rule.min), rule.max)
    if rule.values:
        length = min(rule.values, key=lambda v: abs(v - length))
    return length


def extend_duration(profile: ModelProfile, seconds: float | None, added: int) -> int:
    """The stitched total: the source's whole seconds plus the extension, within the model's range."""
    if added <= 0:
        raise invalid("seconds", "seconds must be a positive whole number of seconds to add")
    source = round(seconds or 0)
    total = source + added
    rule = profile.duration
    if not rule.min <= total <= rule.max:
        raise invalid(
            "seconds",
            f"the source video is {source} s; extending it by {added} s makes {total} s, "
            f"but {profile.id} makes videos of {rule.min} to {rule.max} s",
        )
    return total


async def derived_spec(
    service: TaskService,
    owner: str,
    values: dict[str, Any],
    task_type: str,
    added_seconds: int | None,
    default_model: str,
) -> TaskSpec:
    """The spec of an edit (`task_type` "edit") or an extension ("extend") of the request's `video`."""
    prompt = string_field(values, "prompt", required=True) or ""
    if task_type == EXTEND and added_seconds is None:
        raise missing("seconds")
    source = await source_video(service, owner, values.get("video"))
    model = choose_model(service.catalog, values, source, default_model)
    profile = _profile(service.catalog, model)
    if task_type == EDIT:
        duration = edit_duration(profile, source.ref.seconds)
    else:
        duration = extend_duration(profile, source.ref.seconds, added_seconds or 0)
    characters = await character_refs(service, owner, values, prompt)
    return TaskSpec(
        model=model,
        prompt=prompt,
        media=[source.ref, *characters],
        resolution=nearest_resolution(service.catalog, profile, source.ref),
        ratio="adaptive",
        duration=duration,
        omni_reference_task_type=task_type if profile.task_types else None,
        wire_names=dict(WIRE_NAMES),
    )


# -- characters ---------------------------------------------------------------------------------------------------


def render_character(asset: Asset) -> dict[str, Any]:
    """`{id, created_at, name}`, the SDKs' `VideoCreateCharacterResponse` / `VideoGetCharacterResponse`."""
    return {"id": asset.id, "created_at": int(asset.created_at), "name": asset.name or None}


async def create_character(service: TaskService, owner: str, values: dict[str, Any]) -> Asset:
    """Store the video as an asset named after the character; wait (bounded) for its audit, refuse a failed one."""
    name = check_name(string_field(values, "name", required=True), "name")
    video = values.get("video")
    library = service.assets
    if isinstance(video, UploadFile):
        # Audit it now, so a file that is no usable video is refused here rather than left as a failed asset.
        await service.video_from_upload(video, "video")
        await video.seek(0)
        asset = await library.create_from_upload(
            owner, video, kind="video", name=name, metadata=dict(CHARACTER_MARK), param="video"
        )
    elif isinstance(video, str) and video.strip():
        asset = await library.create_from_url(
            owner, check_source_url(video, "video"), kind="video", name=name, metadata=dict(CHARACTER_MARK)
        )
    elif video is None:
        raise missing("video")
    else:
        raise invalid("video", "video must be a video file (or an http(s) URL of one)")
    settled = await library.settled(owner, asset.id) or asset
    if settled.status is AssetStatus.FAILED:
        await library.delete(owner, asset.id)
        reason = settled.error["message"] if settled.error else "unknown reason"
        raise invalid("video", f"the character video was refused: {reason}")
    return settled


async def get_character(service: TaskService, owner: str, character_id: str) -> Asset:
    return await service.assets.get(owner, character_id, param="character_id")


async def _by_name(service: TaskService, owner: str, name: str) -> Asset | None:
    found = await service.assets.by_name(owner, name, kinds=("video", "image"), limit=20)
    return next(
        (
            a
            for a in found
            if a.name.lower() == name.lower() and all(a.metadata.get(k) == v for k, v in CHARACTER_MARK.items())
        ),
        None,
    )


async def character_refs(service: TaskService, owner: str, values: dict[str, Any], prompt: str) -> list[MediaRef]:
    """Reference media for the characters the request names in `characters` or mentions in the prompt."""
    chosen: dict[str, tuple[Asset, str]] = {}
    raw = values.get("characters")
    if raw is not None:
        items = raw if isinstance(raw, list) else [raw]
        if len(items) > _MAX_MENTIONS:  # each is a lookup; no model takes more reference media than this
            raise invalid("characters", f"at most {_MAX_MENTIONS} characters may be named, got {len(items)}")
        for index, item in enumerate(items):
            param = f"characters[{index}]"
            ident = item.get("id") if isinstance(item, dict) else item
            if not isinstance(ident, str) or not ident.strip():
                raise invalid(param, 'each character must be a character ID or {"id": "<character ID>"}')
            asset = await service.assets.find(owner, ident.strip())
            if asset is None:
                raise invalid(param, f"the character {ident.strip()} was not found")
            chosen.setdefault(asset.id, (asset, param))
    mentions = list(dict.fromkeys(_MENTION.findall(prompt)))[:_MAX_MENTIONS]
    for mention in mentions:
        asset = await service.assets.find(owner, mention) or await _by_name(service, owner, mention)
        if asset is not None:
            chosen.setdefault(asset.id, (asset, "prompt"))
    refs = []
    for asset, param in chosen.values():
        kind = asset.kind or "video"
        refs.append(MediaRef(kind, f"asset://{asset.id}", f"reference_{kind}", param, alias=asset.name or None))
    return refs
