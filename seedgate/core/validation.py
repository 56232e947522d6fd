"""Checks a TaskSpec against its model's profile and makes the frozen plan, with the model's defaults applied.

Body fields are strict: a wrong value is an error naming the field. Values from legacy prompt commands are
`soft`: one that does not fit the model is dropped and the default applies, as Ark documents.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import fields, replace
from typing import Any
from urllib.parse import urlsplit

from . import geometry
from .asset import asset_id_of
from .catalog import TASK_TYPES, Catalog, ModelProfile
from .errors import internal, invalid, missing, model_not_found
from .plan import CheckedSpec, TaskPlan
from .spec import ROLES, TaskSpec

SEED_MAX = 2**32 - 1
EXPIRES_MIN, EXPIRES_MAX, EXPIRES_DEFAULT = 3600, 259200, 172800
TIERS = ("default", "flex")

Soft = Sequence[tuple[str, Any]]  # (field, value) pairs from legacy prompt commands, in order


def media_param(spec: TaskSpec | CheckedSpec) -> str:
    """The caller's name for its media as a whole (Ark's `content`), for errors about the media together."""
    return spec.wire_names.get("media", "content")


def infer_mode(spec: TaskSpec) -> str:
    """Which of the mutually exclusive scenarios the media describe."""
    where = media_param(spec)
    for ref in spec.media:
        if ref.kind not in ROLES:
            raise invalid(ref.param or where, f"unsupported media type {ref.kind!r}")
        if ref.role is not None and ref.role not in ROLES[ref.kind]:
            raise invalid(
                ref.param or where,
                f"role {ref.role!r} is not valid for {ref.kind}; use one of {', '.join(ROLES[ref.kind])}",
            )
    if spec.draft_task_id is not None:
        if spec.media:
            raise invalid(where, "a draft_task item cannot be combined with images, videos or audio")
        return "draft_final"
    if not spec.media:
        return "text"
    images = spec.media_of("image")
    frame_roles = [m for m in images if m.role in ("first_frame", "last_frame")]
    references = [m for m in spec.media if m.role and m.role.startswith("reference_")]
    others = [m for m in spec.media if m.kind != "image"]
    if frame_roles and (references or others):
        raise invalid(where, "first/last frame images cannot be mixed with reference images, videos or audio")
    if references or others:
        unnamed = [m for m in images if m.role is None]
        if unnamed:
            raise invalid(
                unnamed[0].param or where, "set role to reference_image when images are combined with reference media"
            )
        return "reference"
    if len(images) == 1:
        if images[0].role == "last_frame":
            raise invalid(images[0].param or where, "a last_frame image needs a first_frame image too")
        return "first_frame"
    if len(images) == 2:
        roles = sorted(m.role or "" for m in images)
        if roles == ["first_frame", "last_frame"]:
            return "first_last_frame"
        raise invalid(where, "two images need role first_frame on one and last_frame on the other")
    raise invalid(where, "more than two images need role reference_image on each")


def _choice(value: Any, allowed: tuple[str, ...], what: str) -> str | None:
    if not isinstance(value, str) or value not in allowed:
        return f"{value!r} is not a valid {what}; allowed: {', '.join(allowed)}"
    return None


def _int_in(value: Any, low: int, high: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{value!r} is not an integer"
    if not low <= value <= high:
        return f"{value} is out of range [{low}, {high}]"
    return None


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"{value!r} is not a boolean"


def _field_checks(profile: ModelProfile, mode: str) -> dict[str, Callable[[Any], str | None]]:
    """A check per option; each returns why a value is wrong for this model and mode, or None."""
    res_allowed = profile.resolutions_for(mode)
    ratio_allowed = tuple(r for r in profile.ratios if r != "adaptive" or mode in profile.adaptive_modes)
    dur = profile.duration

    def check_duration(value: Any) -> str | None:
        if dur.auto and value == -1:
            return None
        problem = _int_in(value, dur.min, dur.max)
        if problem:
            return f"{problem}{' (or -1)' if dur.auto else ''} for {profile.id}"
        if dur.values and value not in dur.values:
            allowed = ", ".join(map(str, dur.values))
            return f"{value} is not an allowed duration for {profile.id}; allowed: {allowed}"
        return None

    def check_frames(value: Any) -> str | None:
        if not profile.frames:
            return f"frames is not supported by {profile.id}; use duration"
        problem = _int_in(value, geometry.FRAMES_MIN, geometry.FRAMES_MAX)
        if problem:
            return problem
        return None if geometry.valid_frames(value) else f"{value} is not of the form 25+4n"

    return {
        "resolution": lambda v: _choice(v, res_allowed, f"resolution for {profile.id} in {mode} mode"),
        "ratio": lambda v: _choice(v, ratio_allowed, f"ratio for {profile.id} in {mode} mode"),
        "duration": check_duration,
        "frames": check_frames,
        "fps": lambda v: None if v == geometry.FPS else "only 24 fps is supported",
        "seed": lambda v: _int_in(v, -1, SEED_MAX),
        "camera_fixed": _bool,
        "watermark": _bool,
    }


def _apply_soft(spec: TaskSpec, soft: Soft, checks: dict[str, Callable[[Any], str | None]]) -> None:
    from_body = {name for name, _ in soft if getattr(spec, name, None) is not None}
    for name, value in soft:
        # The body wins over a prompt command; fps has only one legal value; a bad value leaves the last good one.
        if name == "fps" or name in from_body:
            continue
        if checks[name](value) is None:
            setattr(spec, name, value)


def _check_options(spec: TaskSpec, profile: ModelProfile, checks: dict[str, Callable[[Any], str | None]]) -> None:
    for name in ("resolution", "ratio", "duration", "frames", "seed", "camera_fixed", "watermark"):
        value = getattr(spec, name)
        if value is not None and (problem := checks[name](value)):
            raise invalid(spec.param(name), problem)
    for name in ("generate_audio", "draft", "return_last_frame"):
        value = getattr(spec, name)
        if value is not None and (problem := _bool(value)):
            raise invalid(spec.param(name), problem)
    if spec.service_tier is not None:
        if problem := _choice(spec.service_tier, TIERS, "service_tier"):
            raise invalid(spec.param("service_tier"), problem)
        if spec.service_tier == "flex" and not profile.flex:
            raise invalid(spec.param("service_tier"), f"the flex tier is not available for {profile.id}")
    if spec.priority is not None:
        if problem := _int_in(spec.priority, 0, 9):
            raise invalid(spec.param("priority"), problem)
        if spec.priority and not profile.priority:
            raise invalid(spec.param("priority"), f"priority is not supported by {profile.id}")
        if spec.priority and spec.service_tier == "flex":
            raise invalid(spec.param("priority"), "priority cannot be combined with the flex tier")
    if spec.execution_expires_after is not None and (
        problem := _int_in(spec.execution_expires_after, EXPIRES_MIN, EXPIRES_MAX)
    ):
        raise invalid(spec.param("execution_expires_after"), problem)
    if spec.callback_url is not None:
        try:
            parts = urlsplit(spec.callback_url) if isinstance(spec.callback_url, str) else None
        except ValueError:  # e.g. "http://[abc": urlsplit refuses malformed IPv6 hosts
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise invalid(spec.param("callback_url"), "callback_url must be an absolute http(s) URL")
    if spec.safety_identifier is not None:
        sid = spec.safety_identifier
        if not isinstance(sid, str) or not sid.isascii() or len(sid) > 64:
            raise invalid(spec.param("safety_identifier"), "safety_identifier must be ASCII, at most 64 characters")
    if spec.tools is not None:
        if not profile.tools and spec.tools:
            raise invalid(spec.param("tools"), f"tools are not supported by {profile.id}")
        if not isinstance(spec.tools, list) or any(
            not isinstance(t, dict) or t.get("type") != "web_search" for t in spec.tools
        ):
            raise invalid(spec.param("tools"), 'tools must be a list of {"type": "web_search"}')
    if spec.output_format is not None and (
        problem := _choice(spec.output_format, profile.output_formats, f"output_format for {profile.id}")
    ):
        raise invalid(spec.param("output_format"), problem)
    if spec.omni_reference_task_type is not None:
        if not profile.task_types:
            raise invalid(spec.param("omni_reference_task_type"), f"not supported by {profile.id}")
        if problem := _choice(spec.omni_reference_task_type, TASK_TYPES, "omni_reference_task_type"):
            raise invalid(spec.param("omni_reference_task_type"), problem)
        if spec.omni_reference_task_type not in profile.task_types:
            raise invalid(
                spec.param("omni_reference_task_type"),
                f"{spec.omni_reference_task_type!r} is not supported by {profile.id}; allowed: "
                f"{', '.join(profile.task_types)}",
            )


def _check_task_type(spec: TaskSpec, profile: ModelProfile, mode: str) -> None:
    """An explicit edit / extend states what it works on; Ark fails a mismatch only later, seedgate refuses it now."""
    kind = spec.omni_reference_task_type
    rule = profile.task_types.get(kind) if kind else None
    if rule is None:
        return
    where = spec.param("omni_reference_task_type")
    if rule.videos is not None:
        count = len(spec.media_of("video")) if mode == "reference" else 0
        low, high = rule.videos
        if not low <= count <= high:
            raise invalid(
                spec.wire_names.get("media.video", media_param(spec)),
                f"{where} {kind!r} needs {low} to {high} reference videos (role reference_video), got {count}",
            )
    if rule.ratio is not None:
        if spec.ratio is not None and spec.ratio != rule.ratio:
            raise invalid(spec.param("ratio"), f"{where} {kind!r} needs ratio {rule.ratio!r}, got {spec.ratio!r}")
        spec.ratio = rule.ratio
    if rule.duration is not None:
        if spec.frames is not None:
            raise invalid(spec.param("frames"), f"{where} {kind!r} takes no frames; the length follows the video")
        if spec.duration is not None and spec.duration != rule.duration:
            raise invalid(
                spec.param("duration"), f"{where} {kind!r} needs duration {rule.duration}, got {spec.duration!r}"
            )
        spec.duration = rule.duration


def _check_media_counts(spec: TaskSpec, profile: ModelProfile, mode: str) -> None:
    if mode != "reference":
        return
    rule = profile.reference
    where = media_param(spec)
    counts = {
        "image": (len(spec.media_of("image")), rule.images),
        "video": (len(spec.media_of("video")), rule.videos),
        "audio": (len(spec.media_of("audio")), rule.audios),
    }
    for kind, (count, (low, high)) in counts.items():
        # A dialect that takes each kind in its own fields names them (`media.video` -> "videos").
        param = spec.wire_names.get(f"media.{kind}", where)
        if count and high == 0:
            raise invalid(param, f"{profile.id} does not accept reference {kind}s")
        if count > high or (count < low):
            raise invalid(param, f"{profile.id} accepts {low} to {high} reference {kind}s, got {count}")
    if counts["audio"][0] and not (counts["image"][0] or counts["video"][0]) and not rule.audio_alone:
        raise invalid(
            spec.wire_names.get("media.audio", where),
            f"{profile.id} needs at least one reference image or video alongside audio",
        )


def _check_assets_only(spec: TaskSpec, profile: ModelProfile) -> None:
    if not profile.assets_only:
        return
    for ref in spec.media:
        if asset_id_of(ref.url) is None:
            raise invalid(
                ref.param or "content",
                f"{profile.id} takes media only as asset://{{assetId}} references "
                "from the asset audit; submit the URL for audit first",
            )


def _check_urls_only(spec: TaskSpec, profile: ModelProfile) -> None:
    if not profile.urls_only:
        return
    for ref in spec.media:
        if asset_id_of(ref.url) is not None or ref.url[:5].lower() == "data:":
            raise invalid(
                ref.param or "content",
                f"{profile.id} takes media only as public http(s) URLs (or this "
                "server's hosted file URLs), not asset references or data: URLs",
            )


def _check_draft(spec: TaskSpec, profile: ModelProfile) -> None:
    if not spec.draft:
        return
    if not profile.draft:
        raise invalid(spec.param("draft"), f"draft mode is not supported by {profile.id}")
    if spec.resolution not in (None, "480p"):
        raise invalid(spec.param("resolution"), "draft videos are 480p only")
    if spec.return_last_frame:
        raise invalid(spec.param("return_last_frame"), "return_last_frame cannot be used with draft")
    if spec.service_tier == "flex":
        raise invalid(spec.param("service_tier"), "the flex tier cannot be used with draft")


def validate(spec: TaskSpec, catalog: Catalog, soft: Soft = ()) -> CheckedSpec:
    """The checked request: the model resolved, the mode decided and every default applied.

    The ratio may stay `adaptive` for image modes until the media's size is known; `settle_geometry`, run once
    the media are resolved, makes the `TaskPlan`.
    """
    if not spec.model:
        raise missing(spec.param("model"))
    profile = catalog.find(spec.model)
    if profile is None:
        raise model_not_found(spec.model, catalog.aliases)
    mode = infer_mode(spec)
    if mode == "draft_final":
        raise internal("draft_task must be expanded before validation")
    if mode not in profile.modes:
        raise invalid(
            media_param(spec),
            f"{profile.id} does not support {mode.replace('_', ' ')} generation; "
            f"it supports: {', '.join(m.replace('_', ' ') for m in profile.modes)}",
        )
    if profile.served_modes is not None and mode not in profile.served_modes:
        # The model could do it, but no installed weights on this server do: name what the operator configured.
        served = ", ".join(m.replace("_", " ") for m in profile.served_modes) or "none"
        raise invalid(
            media_param(spec) if mode != "text" else spec.param("model"),
            f"{profile.id} has no local pipeline configured for {mode.replace('_', ' ')} generation on "
            f"this server (configured modes: {served})",
        )
    if not isinstance(spec.prompt, str):
        raise invalid(spec.param("prompt"), "the prompt must be a string")
    if mode == "text" and not spec.prompt.strip():
        raise missing(spec.param("prompt"))
    if len(spec.prompt) > profile.prompt_max_chars:
        raise invalid(
            spec.param("prompt"),
            f"the prompt has {len(spec.prompt)} characters; {profile.id} takes at most {profile.prompt_max_chars}",
        )

    # A private working copy: the soft values and the task type's fixed settings are applied to it in place.
    out = replace(spec, media=list(spec.media))
    checks = _field_checks(profile, mode)
    _check_options(out, profile, checks)
    _apply_soft(out, soft, checks)
    _check_media_counts(out, profile, mode)
    _check_task_type(out, profile, mode)
    _check_assets_only(out, profile)
    _check_urls_only(out, profile)
    _check_draft(out, profile)

    draft = bool(out.draft)
    ratio = out.ratio or profile.default_ratio.get(mode, "16:9")
    if ratio == "adaptive" and mode == "text":
        ratio = geometry.ratio_from_prompt(out.prompt)  # no media to measure: the prompt decides at once
    if out.frames is not None:
        frame_count = out.frames
        duration = geometry.duration_for_frames(out.frames)
    else:
        seconds = profile.duration.default if out.duration is None else out.duration
        if seconds == -1:
            # "The model chooses": the preview picks the shortest common length the model allows.
            seconds = min(max(5, profile.duration.min), profile.duration.max)
            if profile.duration.values and seconds not in profile.duration.values:
                seconds = min(profile.duration.values, key=lambda v: abs(v - seconds))
        duration = seconds
        frame_count = geometry.frames_for_duration(seconds)
    return CheckedSpec(
        model=out.model,
        prompt=out.prompt,
        # Roles the client left out follow from the mode, so engines never have to guess them.
        media=tuple(
            replace(ref, role=ref.role or ("first_frame" if mode == "first_frame" else f"reference_{ref.kind}"))
            for ref in out.media
        ),
        draft_task_id=out.draft_task_id,
        resolution=out.resolution or ("480p" if draft else profile.default_resolution),
        ratio=ratio,
        duration=duration,
        frames=out.frames,
        seed=random.randint(0, 2**31 - 1) if out.seed is None or out.seed == -1 else out.seed,
        camera_fixed=bool(out.camera_fixed) and profile.camera_fixed and mode != "reference",
        watermark=bool(out.watermark),
        # Models without audio ignore generate_audio (1.0 is always silent), as the vendors do; None keeps it
        # unreported.
        generate_audio=(True if out.generate_audio is None else out.generate_audio) if profile.audio else None,
        draft=draft,
        return_last_frame=bool(out.return_last_frame),
        service_tier=out.service_tier or "default",
        priority=out.priority or 0,
        execution_expires_after=out.execution_expires_after or EXPIRES_DEFAULT,
        callback_url=out.callback_url,
        safety_identifier=out.safety_identifier,
        tools=out.tools,
        output_format=out.output_format or "mp4",
        omni_reference_task_type=out.omni_reference_task_type,
        remix_of=out.remix_of,
        metadata=out.metadata,
        wire_names=out.wire_names,
        mode=mode,
        model_id=profile.id,
        # Ark reports model name-version; a BytePlus client that sent its own ID gets that ID back.
        model_name=spec.model if spec.model in profile.aliases else profile.id,
        engine=profile.engine,
        frame_count=frame_count,
        frames_requested=out.frames is not None,
    )


def settle_geometry(checked: CheckedSpec, catalog: Catalog) -> TaskPlan:
    """The plan: `adaptive` decided (from the first image or video, or the prompt) and the output size set."""
    profile = catalog.models[checked.model_id]
    ratio = checked.ratio
    if ratio == "adaptive":
        sized = next((m for m in checked.media if m.kind == "video" and m.width), None) or next(
            (m for m in checked.media if m.kind == "image" and m.width), None
        )
        if sized is not None and sized.width and sized.height:
            ratio = geometry.nearest_ratio(sized.width, sized.height, profile.ratios)
        else:
            ratio = geometry.ratio_from_prompt(checked.prompt)
    width, height = catalog.size(profile.family, checked.resolution, ratio)
    values = {f.name: getattr(checked, f.name) for f in fields(CheckedSpec)}
    values["ratio"] = ratio
    return TaskPlan(**values, width=width, height=height)


def check_resolved_media(spec: CheckedSpec, catalog: Catalog) -> None:
    """Rules that need the media itself, not the URL text (run after fetching and auditing)."""
    profile = catalog.models[spec.model_id]
    videos = spec.media_of("video")
    total = sum(m.seconds or 0 for m in videos)
    # Vendors observed tolerating 15.2 s on a 15 s cap; allow the same small slack for rounding in containers.
    if videos and total > profile.reference.video_seconds_total + 0.2:
        raise invalid(
            media_param(spec),
            f"reference videos total {total:.1f} s; at most {profile.reference.video_seconds_total:g} s in all",
        )
    kind = spec.omni_reference_task_type
    rule = profile.task_types.get(kind) if kind else None
    if rule is not None and rule.video_seconds is not None:
        low, high = rule.video_seconds
        for ref in videos:
            if ref.seconds is not None and not low - 0.2 <= ref.seconds <= high + 0.2:
                raise invalid(
                    ref.param or media_param(spec),
                    f"{spec.param('omni_reference_task_type')} {kind!r} needs each reference video to "
                    f"last {low:g} to {high:g} s; this one lasts {ref.seconds:.1f} s",
                )
