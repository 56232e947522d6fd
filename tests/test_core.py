"""Pure domain logic: catalog, geometry, prompt commands, validation, usage, statuses."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, replace
from pathlib import Path

import pytest

from seedgate.core import geometry
from seedgate.core.catalog import CatalogError, ModelProfile, load_catalog
from seedgate.core.errors import ApiError
from seedgate.core.plan import TaskPlan
from seedgate.core.prompt_commands import split_commands
from seedgate.core.spec import MediaRef, TaskSpec
from seedgate.core.status import Status, TransitionError, can_transition, check_transition
from seedgate.core.usage import completion_tokens
from seedgate.core.validation import infer_mode, settle_geometry, validate

CATALOG = load_catalog()


def spec(model: str = "doubao-seedance-1-0-pro-250528", prompt: str = "a cat", **kw: object) -> TaskSpec:
    return TaskSpec(model=model, prompt=prompt, **kw)  # type: ignore[arg-type]


def image(role: str | None = None, i: int = 0) -> MediaRef:
    return MediaRef("image", f"http://x/{i}.png", role, f"content[{i}].image_url.url")


def test_catalog_has_every_official_model_under_both_ids() -> None:
    for volc, byteplus in [
        ("doubao-seedance-1-0-pro-250528", "seedance-1-0-pro-250528"),
        ("doubao-seedance-1-0-pro-fast-251015", "seedance-1-0-pro-fast-251015"),
        ("doubao-seedance-1-0-lite-t2v-250428", "seedance-1-0-lite-t2v-250428"),
        ("doubao-seedance-1-0-lite-i2v-250428", "seedance-1-0-lite-i2v-250428"),
        ("doubao-seedance-1-5-pro-251215", "seedance-1-5-pro-251215"),
        ("doubao-seedance-2-0-260128", "dreamina-seedance-2-0-260128"),
        ("doubao-seedance-2-0-fast-260128", "dreamina-seedance-2-0-fast-260128"),
        ("doubao-seedance-2-0-mini-260615", "dreamina-seedance-2-0-mini-260615"),
        ("doubao-seedance-2-5-260628", "dreamina-seedance-2-5-260628"),
    ]:
        assert CATALOG.find(volc) is CATALOG.find(byteplus) is not None


def test_pixel_tables_match_the_reference() -> None:
    assert CATALOG.size("seedance-1.0", "1080p", "16:9") == (1920, 1088)
    assert CATALOG.size("seedance-2.0", "720p", "21:9") == (1470, 630)
    assert CATALOG.size("seedance-2.0", "4k", "4:3") == (3326, 2494)
    assert CATALOG.size("seedance-2.5", "480p", "9:16") == (480, 854)


def test_operator_catalog_adds_models_and_endpoint_aliases(tmp_path: Path) -> None:
    extra = tmp_path / "mine.toml"
    extra.write_text(
        '[aliases]\n"ep-20260101-abcde" = "doubao-seedance-2-0-260128"\n\n'
        '[[model]]\nid = "my-seedance-short"\nextends = "doubao-seedance-2-0-fast-260128"\n'
        "duration = { min = 4, max = 6, default = 4, auto = false }\n"
    )
    catalog = load_catalog(extra)
    assert catalog.find("ep-20260101-abcde").id == "doubao-seedance-2-0-260128"
    mine = catalog.find("my-seedance-short")
    assert mine.duration.max == 6 and mine.resolutions == ("480p", "720p") and mine.aliases == ()
    bad = tmp_path / "bad.toml"
    bad.write_text('[aliases]\n"ep-x" = "nope"\n')
    with pytest.raises(CatalogError, match="nope"):
        load_catalog(bad)


def test_nearest_ratio_and_prompt_hints() -> None:
    assert geometry.nearest_ratio(1080, 1920) == "9:16"
    assert geometry.nearest_ratio(1000, 1000) == "1:1"
    assert geometry.nearest_ratio(2400, 1000) == "21:9"
    assert geometry.nearest_ratio(800, 600) == "4:3"
    assert geometry.ratio_from_prompt("竖屏 a dancer") == "9:16"
    assert geometry.ratio_from_prompt("a dancer") == "16:9"


def test_frames_grid() -> None:
    assert geometry.frames_for_duration(5) == 121
    assert [geometry.valid_frames(f) for f in (29, 33, 30, 25, 289, 293)] == [True, True, False, False, True, False]


def test_prompt_commands_split_and_coerce() -> None:
    prompt, soft = split_commands("一只猫 --rs 720p --rt 16:9 --dur 5 --fps 24 --wm true --seed 11 --cf false")
    assert prompt == "一只猫"
    assert dict(soft) == {
        "resolution": "720p",
        "ratio": "16:9",
        "duration": 5,
        "fps": 24,
        "watermark": True,
        "seed": 11,
        "camera_fixed": False,
    }
    assert split_commands("no commands -- here")[1] == []
    assert dict(split_commands("x --dur five --seed 3")[1]) == {"seed": 3}


def test_body_wins_over_prompt_commands() -> None:
    prompt, soft = split_commands("x --rs 480p --dur 3")
    out = validate(spec(prompt=prompt, resolution="720p"), CATALOG, soft)
    assert (out.resolution, out.duration) == ("720p", 3)


@pytest.mark.parametrize(
    ("media", "mode"),
    [
        ([], "text"),
        ([image()], "first_frame"),
        ([image("first_frame")], "first_frame"),
        ([image("first_frame", 0), image("last_frame", 1)], "first_last_frame"),
        ([image("reference_image", 0), image("reference_image", 1), image("reference_image", 2)], "reference"),
        ([MediaRef("video", "http://v", "reference_video")], "reference"),
    ],
)
def test_mode_inference(media: list[MediaRef], mode: str) -> None:
    assert infer_mode(spec(media=media)) == mode


@pytest.mark.parametrize(
    "media",
    [
        [image("last_frame")],
        [image(None, 0), image(None, 1)],
        [image(None, 0), image(None, 1), image(None, 2)],
        [image("first_frame", 0), image("reference_image", 1)],
        [image("first_frame", 0), MediaRef("audio", "http://a", "reference_audio")],
        [MediaRef("image", "http://x", "reference_video")],
    ],
)
def test_scenarios_cannot_be_mixed(media: list[MediaRef]) -> None:
    with pytest.raises(ApiError) as caught:
        infer_mode(spec(media=media))
    assert caught.value.status == 400 and caught.value.code == "InvalidParameter"


def test_defaults_per_model() -> None:
    pro = settle_geometry(validate(spec(), CATALOG), CATALOG)
    assert (pro.resolution, pro.ratio, pro.duration, pro.frame_count, pro.width, pro.height) == (
        "1080p",
        "16:9",
        5,
        121,
        1920,
        1088,
    )
    assert pro.generate_audio is None and pro.service_tier == "default" and pro.execution_expires_after == 172800
    v25 = validate(spec("doubao-seedance-2-5-260628"), CATALOG)
    assert v25.duration == 5 and v25.ratio == "16:9" and v25.generate_audio is True
    first = validate(spec(media=[image()]), CATALOG)
    assert first.ratio == "adaptive" and not hasattr(first, "width")  # settled once the image size is known
    assert first.media[0].role == "first_frame"  # an image sent without a role gets the mode's role
    first = replace(first, media=(replace(first.media[0], width=600, height=1000),))
    plan = settle_geometry(first, CATALOG)
    assert (plan.ratio, plan.width, plan.height) == ("9:16", 1088, 1920)


def test_reference_counts_and_audio_rules() -> None:
    lite = "doubao-seedance-1-0-lite-i2v-250428"
    refs = [image("reference_image", i) for i in range(5)]
    with pytest.raises(ApiError, match="1 to 4"):
        validate(spec(lite, media=refs), CATALOG)
    with pytest.raises(ApiError, match="resolution"):
        validate(spec(lite, media=refs[:2], resolution="1080p"), CATALOG)
    audio = MediaRef("audio", "http://a", "reference_audio")
    with pytest.raises(ApiError, match="alongside audio"):
        validate(spec("doubao-seedance-2-0-260128", media=[audio]), CATALOG)
    assert validate(spec("doubao-seedance-2-5-260628", media=[audio]), CATALOG).mode == "reference"
    with pytest.raises(ApiError, match="does not support"):
        validate(
            spec("doubao-seedance-1-0-pro-fast-251015", media=[image("first_frame"), image("last_frame", 1)]), CATALOG
        )


def test_draft_rules() -> None:
    model = "doubao-seedance-1-5-pro-251215"
    assert validate(spec(model, draft=True), CATALOG).resolution == "480p"
    for bad in ({"resolution": "720p"}, {"return_last_frame": True}, {"service_tier": "flex"}):
        with pytest.raises(ApiError):
            validate(spec(model, draft=True, **bad), CATALOG)


def test_usage_tokens_follow_the_reference_examples() -> None:
    def tokens(**kw: object) -> int:
        return completion_tokens(settle_geometry(validate(spec(**kw), CATALOG), CATALOG))

    assert tokens(model="doubao-seedance-2-0-260128", resolution="720p", ratio="16:9", duration=5) == 108900
    assert tokens(resolution="1080p", ratio="16:9", duration=5) == 246840
    assert tokens(model="doubao-seedance-2-0-260128", resolution="720p", ratio="16:9", duration=4) == 87300
    draft = settle_geometry(
        validate(spec("doubao-seedance-1-5-pro-251215", draft=True, ratio="16:9"), CATALOG), CATALOG
    )
    assert completion_tokens(draft) == int(864 * 496 * 121 // 1024 * 0.6)


def test_status_machine() -> None:
    assert can_transition(Status.QUEUED, Status.RUNNING)
    assert can_transition(Status.QUEUED, Status.CANCELLED)
    assert can_transition(Status.RUNNING, Status.SUCCEEDED)
    assert can_transition(Status.RUNNING, Status.EXPIRED)
    for terminal in (Status.SUCCEEDED, Status.FAILED, Status.EXPIRED, Status.CANCELLED):
        assert terminal.terminal
        for target in Status:
            assert not can_transition(terminal, target)
    # An upstream task still queued upstream may be cancelled although seedgate shows it running.
    assert can_transition(Status.RUNNING, Status.CANCELLED)
    with pytest.raises(TransitionError):
        check_transition(Status.QUEUED, Status.SUCCEEDED)


def test_allowed_duration_values() -> None:
    dj = "seedance-2.0-dj-fast"
    assert validate(spec(dj, duration=10), CATALOG).frame_count == 241
    assert validate(spec(dj), CATALOG).duration == 5
    with pytest.raises(ApiError, match="allowed: 5, 10, 15") as caught:
        validate(spec(dj, duration=7), CATALOG)
    assert caught.value.param == "duration"
    _, soft = split_commands("x --dur 7")
    assert validate(spec(dj), CATALOG, soft).duration == 5  # a prompt command outside the list is ignored
    summary = CATALOG.find(dj).summary()
    assert summary["duration"]["values"] == [5, 10, 15] and summary["dialect"] == "moonapix"
    assert CATALOG.find("doubao-seedance-2-0-260128").summary()["duration"]["values"] == []


def test_duration_values_are_checked_at_load(tmp_path: Path) -> None:
    for duration, needle in (
        ("{ min = 4, max = 10, default = 5, values = [5, 12] }", "must lie in"),
        ("{ min = 4, max = 10, default = 6, values = [5, 10] }", "not among its values"),
    ):
        bad = tmp_path / "bad.toml"
        bad.write_text(f'[[model]]\nid = "m"\nextends = "doubao-seedance-2-0-260128"\nduration = {duration}\n')
        with pytest.raises(CatalogError, match=needle):
            load_catalog(bad)


def test_moonapix_lines_carry_their_rules() -> None:
    def profile(name: str) -> ModelProfile:
        found = CATALOG.find(name)
        assert found is not None and found.dialect == "moonapix", name
        return found

    assert profile("seedance-2.0-kz").reference.images == (0, 9)
    assert profile("seedance-2.0-kz-fast").resolutions == ("480p", "720p")
    for cl in ("seedance-2.0-cl", "seedance-2.0-cl-fast"):
        assert (profile(cl).reference.images, profile(cl).reference.videos, profile(cl).reference.audios) == (
            (0, 10),
            (0, 0),
            (0, 0),
        )
    mini = profile("seedance-2.0-cl-mini")
    assert mini.resolutions == ("480p", "720p") and (mini.duration.min, mini.duration.max) == (4, 15)
    assert mini.reference.videos == (0, 1) and mini.reference.audios == (0, 0)
    assert not profile("seedance-2.0-ld-17").reference.audio_alone
    assert profile("seedance-2.0-dj-fast").reference.videos == (0, 0)
    assert profile("seedance-2.0-qm-720p").resolutions == profile("seedance-2.0-wc-720p").resolutions == ("720p",)
    assert profile("seedance-2.0-wc-720p").prompt_max_chars == 1000
    assert profile("seedance-2.0-me").reference.videos == (0, 0)
    # The older reseller aliases still point at the official models.
    official = CATALOG.find("seedance-2.0")
    assert official is not None and official.id == "doubao-seedance-2-0-260128" and official.dialect is None


def test_spec_round_trips_alias_and_metadata() -> None:
    original = settle_geometry(
        validate(
            spec(
                media=[MediaRef("image", "asset://asset_1", "first_frame", "references[0].url", alias="hero")],
                metadata={"user": "u-1", "n": [1, 2]},
            ),
            CATALOG,
        ),
        CATALOG,
    )
    again = TaskPlan.from_json(json.loads(json.dumps(original.to_json())))
    assert again.media[0].alias == "hero" and again.metadata == {"user": "u-1", "n": [1, 2]}
    assert again == original
    old_record = original.to_json()
    del old_record["metadata"], old_record["media"][0]["alias"]  # a task stored before these fields existed
    assert TaskPlan.from_json(old_record).media[0].alias is None


# A row of the `spec` column as the code before the frozen plan wrote it (the mutable TaskSpec's to_json).
OLD_ROW = (
    '{"model": "seedance-1-0-pro-250528", "prompt": "a cat on a windowsill", "media": [{"kind": "image", '
    '"url": "https://example.com/cat.png", "role": "first_frame", "param": "content[1].image_url.url", '
    '"blob": "abababababababababababababababababababababababababababababababab", "width": 600, "height": 1000, '
    '"seconds": null, "alias": null}], "draft_task_id": null, "resolution": "1080p", "ratio": "9:16", '
    '"duration": 5, "frames": null, "seed": 7, "camera_fixed": false, "watermark": false, "generate_audio": null, '
    '"draft": false, "return_last_frame": false, "service_tier": "default", "priority": 0, '
    '"execution_expires_after": 172800, "callback_url": "https://app.example/hook", "safety_identifier": null, '
    '"tools": null, "output_format": "mp4", "omni_reference_task_type": null, "remix_of": null, "metadata": null, '
    '"wire_names": {"media": "content"}, "mode": "first_frame", "model_id": "doubao-seedance-1-0-pro-250528", '
    '"model_name": "seedance-1-0-pro-250528", "engine": "preview", "width": 1088, "height": 1920, "fps": 24, '
    '"frame_count": 121, "frames_requested": false}'
)


def test_a_row_written_by_the_old_code_loads_and_is_written_back_unchanged() -> None:
    stored = json.loads(OLD_ROW)
    plan = TaskPlan.from_json(stored)
    assert (plan.mode, plan.engine, plan.model_id, plan.model_name) == (
        "first_frame",
        "preview",
        "doubao-seedance-1-0-pro-250528",
        "seedance-1-0-pro-250528",
    )
    assert (plan.ratio, plan.width, plan.height, plan.frame_count, plan.seed) == ("9:16", 1088, 1920, 121, 7)
    assert plan.media[0].blob == "ab" * 32 and plan.media[0].width == 600 and plan.param("media") == "content"
    assert plan.to_json() == stored  # the same column shape, so old and new nodes read each other's rows


def test_every_plan_field_has_a_stored_row_default() -> None:
    from seedgate.core.plan import _PLAN_FIELDS, _ROW_DEFAULTS

    assert set(_ROW_DEFAULTS) == set(_PLAN_FIELDS)
    assert TaskPlan.from_json({"model": "m"}) == TaskPlan(
        **{**_ROW_DEFAULTS, "model": "m", "model_id": "m", "model_name": "m"}
    )


def test_an_older_row_lacking_later_fields_reads_as_its_readers_did() -> None:
    stored = json.loads(OLD_ROW)
    for name in ("model_name", "frames_requested", "fps", "output_format", "wire_names", "remix_of", "metadata"):
        del stored[name]
    plan = TaskPlan.from_json(stored)
    assert plan.model_name == "doubao-seedance-1-0-pro-250528" and plan.frames_requested is False
    assert plan.fps == 24 and plan.output_format == "mp4" and plan.param("media") == "media"


def test_the_plan_is_frozen_and_validation_leaves_the_request_alone() -> None:
    request = spec(media=[image()])
    checked = validate(request, CATALOG)
    assert request.media[0].role is None and request.duration is None  # defaults went into the plan only
    assert checked.media[0] is not request.media[0]
    plan = settle_geometry(checked, CATALOG)
    with pytest.raises(FrozenInstanceError):
        plan.width = 1  # type: ignore[misc]
    assert isinstance(plan.media, tuple) and plan.width > 0 and plan.height > 0


# -- undated names, task types, per-vendor lengths (issue 14) -----------------------------------------------------


def test_every_dated_name_has_its_undated_name_pointing_at_the_newest() -> None:
    """Clients (3hei's page) send official names without the date: each resolves to the newest dated model."""
    import re

    dated = re.compile(r"^(?P<base>(doubao|dreamina)?-?seedance-[0-9a-z-]+?)-(?P<date>\d{6})$")
    newest: dict[str, tuple[str, str]] = {}
    for name, model_id in CATALOG.aliases.items():
        match = dated.match(name)
        if match and CATALOG.models[model_id].family.startswith("seedance"):
            base, date = match["base"], match["date"]
            if base not in newest or date > newest[base][0]:
                newest[base] = (date, model_id)
    assert {
        "doubao-seedance-2-0",
        "doubao-seedance-2-0-fast",
        "doubao-seedance-1-5-pro",
        "dreamina-seedance-2-0",
        "dreamina-seedance-2-5",
        "seedance-1-0-pro",
    } <= set(newest)
    for base, (_, model_id) in newest.items():
        found = CATALOG.find(base)
        assert found is not None and found.id == model_id, base


def test_2_5_edit_and_extend_rules_are_catalog_data() -> None:
    rules = CATALOG.find("doubao-seedance-2-5").task_types
    assert set(rules) == {"auto", "reference", "edit", "extend"}
    assert (rules["edit"].ratio, rules["edit"].duration, rules["edit"].video_seconds) == ("adaptive", -1, (4, 30))
    assert rules["extend"].ratio == "adaptive" and rules["extend"].duration is None
    assert CATALOG.find("doubao-seedance-2-0").task_types == {}


def video(i: int = 1, seconds: float | None = None) -> MediaRef:
    ref = MediaRef("video", f"http://x/{i}.mp4", "reference_video", f"content[{i}].video_url.url")
    ref.seconds = seconds
    return ref


@pytest.mark.parametrize(
    ("task_type", "options", "media", "param", "needle"),
    [
        ("edit", {}, [], "content", "reference video"),
        ("extend", {}, [image("reference_image")], "content", "reference video"),
        ("edit", {"ratio": "16:9"}, [video()], "ratio", "adaptive"),
        ("extend", {"ratio": "9:16"}, [video()], "ratio", "adaptive"),
        ("edit", {"duration": 5}, [video()], "duration", "-1"),
        ("edit", {}, [video(i) for i in range(1, 12)], "content", "10 reference videos"),
        ("remix", {}, [video()], "omni_reference_task_type", "allowed"),
    ],
)
def test_2_5_task_type_rules_refuse_with_the_field(
    task_type: str, options: dict[str, object], media: list[MediaRef], param: str, needle: str
) -> None:
    with pytest.raises(ApiError) as caught:
        validate(
            spec("doubao-seedance-2-5-260628", media=media, omni_reference_task_type=task_type, **options), CATALOG
        )
    assert caught.value.status == 400 and caught.value.param == param and needle in caught.value.message


def test_2_5_edit_fills_its_fixed_values_and_extend_keeps_a_length() -> None:
    edit = validate(spec("doubao-seedance-2-5-260628", media=[video()], omni_reference_task_type="edit"), CATALOG)
    assert edit.mode == "reference" and edit.ratio == "adaptive" and edit.duration >= 4
    extend = validate(
        spec("doubao-seedance-2-5-260628", media=[video()], omni_reference_task_type="extend", duration=8), CATALOG
    )
    assert extend.ratio == "adaptive" and extend.duration == 8
    plain = validate(
        spec("doubao-seedance-2-5-260628", media=[video()], omni_reference_task_type="reference", ratio="16:9"), CATALOG
    )
    assert plain.ratio == "16:9"


def test_2_5_edit_checks_each_reference_video_length() -> None:
    from seedgate.core.validation import check_resolved_media

    for seconds, ok in ((2.0, False), (3.0, False), (4.0, True), (30.0, True)):
        planned = validate(
            spec("doubao-seedance-2-5-260628", media=[video(1, seconds)], omni_reference_task_type="edit"), CATALOG
        )
        if ok:
            check_resolved_media(planned, CATALOG)
            continue
        with pytest.raises(ApiError) as caught:
            check_resolved_media(planned, CATALOG)
        assert caught.value.param == "content[1].video_url.url" and "4 to 30 s" in caught.value.message


def test_task_types_table_is_checked_at_load(tmp_path: Path) -> None:
    extra = tmp_path / "bad.toml"
    extra.write_text(
        '[[model]]\nid = "x"\nextends = "doubao-seedance-2-5-260628"\ntask_types = { edit = { ratio = "5:4" } }\n'
    )
    with pytest.raises(CatalogError, match="task_types.edit.ratio"):
        load_catalog(extra)
    extra.write_text('[[model]]\nid = "x"\nextends = "doubao-seedance-2-5-260628"\ntask_types = { paint = {} }\n')
    with pytest.raises(CatalogError, match="task_types.paint"):
        load_catalog(extra)


def test_maxapi_seedance_1_5_pro_takes_5_or_10_seconds() -> None:
    profile = CATALOG.find("seedance-1.5-pro")
    assert profile is not None and profile.duration.values == (5, 10)
    for seconds in (5, 10):
        assert validate(spec("seedance-1.5-pro", duration=seconds), CATALOG).duration == seconds
    for seconds in (4, 6, 12, -1):
        with pytest.raises(ApiError, match="duration|allowed|range"):
            validate(spec("seedance-1.5-pro", duration=seconds), CATALOG)
    # The official model keeps Ark's own range.
    assert validate(spec("doubao-seedance-1-5-pro", duration=6), CATALOG).duration == 6
