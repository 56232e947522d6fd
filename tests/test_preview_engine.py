"""Real renders through the preview engine, checked by decoding the MP4s it writes."""

from __future__ import annotations

import logging
import wave
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont, ImageOps

from seedgate import engines
from seedgate.engines.base import MediaInput, RenderCancelled, RenderFailed, RenderJob, RenderResult
from seedgate.engines.preview import PreviewEngine
from seedgate.engines.preview import text as preview_text

W, H = 864, 496  # the 480p 16:9 catalog size
FRAMES = 25


# ------------------------------------------------------------------------------------------------
# Inputs built on the fly


def _image(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (640, 480)) -> Path:
    img = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(img)
    for x in range(0, size[0], 40):
        draw.line((x, 0, x, size[1]), fill=(255, 255, 255), width=3)
    draw.ellipse((size[0] // 3, size[1] // 3, 2 * size[0] // 3, 2 * size[1] // 3), fill=(15, 15, 15))
    img.save(path)
    return path


def _video(path: Path, frames: int = 12) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(frames):
            arr = np.full((120, 160, 3), (0, 110, 0), np.uint8)
            arr[40:80, i * 10 : i * 10 + 20] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def _wav(path: Path, seconds: float = 0.4, rate: int = 22_050) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    tone = (np.sin(2 * np.pi * 440 * t) * 12_000).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.repeat(tone, 2).tobytes())
    return path


def _job(tmp_path: Path, name: str, **overrides: object) -> RenderJob:
    fields: dict[str, object] = {
        "task_id": name,
        "model": "seedance-preview",
        "mode": "text",
        "prompt": "A paper boat drifts down a rainy street; 纸船在雨中漂流",
        "width": W,
        "height": H,
        "fps": 24,
        "frames": FRAMES,
        "seed": 7,
        "output_dir": tmp_path / name,
    }
    fields.update(overrides)
    return RenderJob(**fields)  # type: ignore[arg-type]


def _render(job: RenderJob) -> RenderResult:
    return PreviewEngine().render(job, lambda _f: None, lambda: False)


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


def _check_container(result: RenderResult, job: RenderJob) -> None:
    assert result.video_path == job.output_dir / "video.mp4"
    assert result.frames == job.frames
    assert result.has_audio == job.generate_audio
    with av.open(str(result.video_path)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        assert video.codec_context.pix_fmt == "yuv420p"
        assert (video.width, video.height) == (job.width, job.height)
        assert video.average_rate == 24
        assert float(video.duration * video.time_base) == pytest.approx(job.frames / 24, abs=0.01)
        assert container.duration / 1e6 == pytest.approx(job.frames / 24, abs=0.1)
        if job.generate_audio:
            assert len(container.streams.audio) == 1
            audio = container.streams.audio[0]
            assert audio.codec_context.name == "aac"
            assert audio.layout.nb_channels == 1
            assert audio.sample_rate == 48_000
            assert float(audio.duration * audio.time_base) == pytest.approx(job.frames / 24, abs=0.1)
        else:
            assert not container.streams.audio
        count = sum(1 for _ in container.decode(video=0))
    assert count == job.frames
    assert not (job.output_dir / "video.mp4.part").exists()
    head = result.video_path.read_bytes()
    assert head.find(b"moov") < head.find(b"mdat")  # +faststart


# ------------------------------------------------------------------------------------------------
# Every mode produces a well-formed MP4


def test_text_mode_mp4(tmp_path: Path) -> None:
    job = _job(tmp_path, "text")
    result = _render(job)
    _check_container(result, job)
    assert result.last_frame_path is None
    assert not (job.output_dir / "last_frame.png").exists()
    frames = _frames(result.video_path)
    assert _diff(frames[0], frames[-1]) > 1.0  # the scene moves


def test_first_frame_mode_with_synth_audio(tmp_path: Path) -> None:
    img = _image(tmp_path / "first.png", (200, 60, 60))
    job = _job(
        tmp_path, "ff", mode="first_frame", generate_audio=True, inputs=(MediaInput("image", "first_frame", img),)
    )
    result = _render(job)
    _check_container(result, job)
    frames = _frames(result.video_path)
    fitted = np.asarray(ImageOps.fit(Image.open(img).convert("RGB"), (W, H)))
    assert _diff(frames[0], fitted) < 8.0  # starts on the caller's picture
    assert _diff(frames[0], frames[-1]) > 1.0  # Ken Burns moved


def test_first_frame_camera_fixed_still_differs(tmp_path: Path) -> None:
    img = _image(tmp_path / "first.png", (60, 160, 60))
    job = _job(
        tmp_path, "fixed", mode="first_frame", camera_fixed=True, inputs=(MediaInput("image", "first_frame", img),)
    )
    result = _render(job)
    _check_container(result, job)
    frames = _frames(result.video_path)
    fitted = np.asarray(ImageOps.fit(Image.open(img).convert("RGB"), (W, H)))
    assert all(_diff(f, fitted) < 10.0 for f in frames)
    assert any(_diff(frames[0], f) > 0.2 for f in frames[1:])


def test_first_last_frame_travels_between_images(tmp_path: Path) -> None:
    first = _image(tmp_path / "a.png", (210, 50, 50))
    last = _image(tmp_path / "b.png", (40, 80, 210), size=(480, 640))  # portrait: gets centre-cropped
    job = _job(
        tmp_path,
        "fl",
        mode="first_last_frame",
        inputs=(MediaInput("image", "first_frame", first), MediaInput("image", "last_frame", last)),
    )
    result = _render(job)
    _check_container(result, job)
    frames = _frames(result.video_path)
    a = np.asarray(ImageOps.fit(Image.open(first).convert("RGB"), (W, H)))
    b = np.asarray(ImageOps.fit(Image.open(last).convert("RGB"), (W, H)))
    apart = _diff(a, b)
    assert apart > 40
    assert _diff(frames[0], a) < apart * 0.1
    assert _diff(frames[-1], b) < apart * 0.1
    middle = frames[len(frames) // 2]
    assert _diff(middle, a) > apart * 0.2 and _diff(middle, b) > apart * 0.2


def test_reference_mode_with_video_and_audio(tmp_path: Path) -> None:
    inputs = (
        MediaInput("image", "reference_image", _image(tmp_path / "r1.png", (200, 200, 40))),
        MediaInput("video", "reference_video", _video(tmp_path / "r2.mp4")),
        MediaInput("audio", "reference_audio", _wav(tmp_path / "r3.wav")),
    )
    job = _job(tmp_path, "ref", mode="reference", generate_audio=True, inputs=inputs)
    result = _render(job)
    _check_container(result, job)
    with av.open(str(result.video_path)) as container:
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    # The 0.4 s tone was looped to cover the clip, not padded with silence.
    tail = pcm[int(0.7 * 48_000) : int(0.9 * 48_000)]
    assert np.sqrt(np.mean(tail**2)) > 0.05


# ------------------------------------------------------------------------------------------------
# Determinism, overlays, last frame


def test_same_seed_same_frames_and_other_seed_differs(tmp_path: Path) -> None:
    one = _frames(_render(_job(tmp_path, "s1", frames=9)).video_path)
    two = _frames(_render(_job(tmp_path, "s2", frames=9)).video_path)
    other = _frames(_render(_job(tmp_path, "s3", frames=9, seed=8)).video_path)
    assert all(np.array_equal(x, y) for x, y in zip(one, two, strict=True))
    assert _diff(one[0], other[0]) > 5.0


def test_watermark_marks_bottom_right_only(tmp_path: Path) -> None:
    plain = _frames(_render(_job(tmp_path, "plain", frames=5)).video_path)
    marked = _frames(_render(_job(tmp_path, "marked", frames=5, watermark=True)).video_path)
    for p, m in zip(plain, marked, strict=True):
        assert _diff(p[-H // 8 :, -W // 4 :], m[-H // 8 :, -W // 4 :]) > 5.0
        assert _diff(p[: H // 2, : W // 2], m[: H // 2, : W // 2]) < 1.0


def test_last_frame_png_is_unwatermarked_final_frame(tmp_path: Path) -> None:
    job = _job(tmp_path, "last", frames=6, watermark=True, return_last_frame=True)
    result = _render(job)
    assert result.last_frame_path == job.output_dir / "last_frame.png"
    png = Image.open(result.last_frame_path)
    assert png.size == (W, H)
    png_arr = np.asarray(png.convert("RGB"))
    final = _frames(result.video_path)[-1]
    assert _diff(png_arr[: H // 2], final[: H // 2]) < 3.0
    corner = (slice(-H // 8, None), slice(-W // 4, None))
    assert _diff(png_arr[corner], final[corner]) > 5.0


def test_progress_is_monotonic_and_ends_at_one(tmp_path: Path) -> None:
    seen: list[float] = []
    PreviewEngine().render(_job(tmp_path, "progress"), seen.append, lambda: False)
    assert seen and seen[-1] == 1.0
    assert all(0.0 <= a <= b <= 1.0 for a, b in zip(seen, seen[1:], strict=False))
    assert len(seen) >= 3


def test_should_stop_cancels_and_cleans_up(tmp_path: Path) -> None:
    calls = 0

    def stop() -> bool:
        nonlocal calls
        calls += 1
        return calls > 2

    job = _job(tmp_path, "cancel", frames=49, generate_audio=True, return_last_frame=True)
    with pytest.raises(RenderCancelled):
        PreviewEngine().render(job, lambda _f: None, stop)
    assert not list(job.output_dir.glob("video.mp4*"))
    assert not (job.output_dir / "last_frame.png").exists()


# ------------------------------------------------------------------------------------------------
# Bad input


def test_corrupt_image_is_invalid_parameter(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    job = _job(tmp_path, "bad", mode="first_frame", inputs=(MediaInput("image", "first_frame", bad),))
    with pytest.raises(RenderFailed) as info:
        _render(job)
    assert info.value.code == "InvalidParameter"
    assert "first_frame" in info.value.message
    assert not (job.output_dir / "video.mp4").exists()


@pytest.mark.parametrize(
    ("role", "kind", "suffix"), [("reference_video", "video", ".mp4"), ("reference_audio", "audio", ".wav")]
)
def test_corrupt_reference_media_is_invalid_parameter(tmp_path: Path, role: str, kind: str, suffix: str) -> None:
    bad = tmp_path / f"bad{suffix}"
    bad.write_bytes(b"\x00\x01garbage" * 64)
    inputs = (
        MediaInput("image", "reference_image", _image(tmp_path / "ok.png", (90, 90, 90))),
        MediaInput(kind, role, bad),  # type: ignore[arg-type]
    )
    job = _job(tmp_path, "badref", mode="reference", generate_audio=True, inputs=inputs)
    with pytest.raises(RenderFailed) as info:
        _render(job)
    assert info.value.code == "InvalidParameter"
    assert role in info.value.message


def test_missing_required_input_is_invalid_parameter(tmp_path: Path) -> None:
    img = _image(tmp_path / "only_first.png", (10, 10, 10))
    job = _job(tmp_path, "missing", mode="first_last_frame", inputs=(MediaInput("image", "first_frame", img),))
    with pytest.raises(RenderFailed) as info:
        _render(job)
    assert info.value.code == "InvalidParameter"
    assert "last_frame" in info.value.message


def test_any_unicode_prompt_renders(tmp_path: Path) -> None:
    nasty = "\ud800 lone surrogate\x00 nul \u202eRTL\u202c مرحبا 😀 e\u0301 \ufeff\n\t" + "字" * 400
    for i, prompt in enumerate((nasty, "", "   ")):
        _render(_job(tmp_path, f"uni{i}", prompt=prompt, frames=2))


# ------------------------------------------------------------------------------------------------
# Chinese prompts are drawn with the shipped font, and every preview carries its label


CJK_PROMPT = "一只猫在阳光下打哈欠"
BUNDLED_FONT = Path(engines.__file__).parent / "fonts" / "NotoSansCJKsc-Subset.otf"


def _ink(gray: np.ndarray) -> np.ndarray:
    """Bright pixels, cropped to their bounding box."""
    mask = gray > 200
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    assert rows.size and cols.size, "no ink found"
    return mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _drawn(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> np.ndarray:
    canvas = Image.new("L", (W, H), 0)
    ImageDraw.Draw(canvas).text((10, 10), text, font=font, fill=255)
    return _ink(np.asarray(canvas))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """Overlap of two ink masks scaled to a common size (a pixel of difference in the box size is not a miss)."""
    size = (max(a.shape[1], b.shape[1]), max(a.shape[0], b.shape[0]))
    a2 = np.asarray(Image.fromarray(a.astype(np.uint8) * 255).resize(size)) > 127
    b2 = np.asarray(Image.fromarray(b.astype(np.uint8) * 255).resize(size)) > 127
    return float((a2 & b2).sum() / max(1, (a2 | b2).sum()))


def test_cjk_prompt_is_drawn_with_the_shipped_font(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEEDGATE_PREVIEW_FONT", raising=False)
    preview_text._cjk_font_path.cache_clear()
    preview_text._font.cache_clear()
    job = _job(tmp_path, "cjk", prompt=CJK_PROMPT, camera_fixed=True, frames=12)
    frames = _frames(_render(job).video_path)
    # The caption stays put while the sprites move: the darkest value each pixel takes keeps only the text.
    gray = np.min([np.asarray(Image.fromarray(f).convert("L")) for f in frames], axis=0)
    caption = _ink(gray[int(H * 0.6) : int(H * 0.95), int(W * 0.1) : int(W * 0.9)])

    size = H // 20  # the caption's font size
    expected = _drawn(CJK_PROMPT, ImageFont.truetype(str(BUNDLED_FONT), size))
    boxes = _drawn(CJK_PROMPT, ImageFont.load_default(size=size))  # what a font without CJK draws
    assert _iou(expected, boxes) < 0.5  # the two drawings really differ
    assert _iou(caption, expected) > 0.6
    assert _iou(caption, expected) > _iou(caption, boxes) + 0.2


def test_undrawable_script_is_logged_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    preview_text._warned.clear()
    caplog.set_level(logging.WARNING, logger="seedgate.engines.preview")
    _render(_job(tmp_path, "zh", prompt=CJK_PROMPT + " 纸船 かな 한국어", frames=2))
    assert not [r for r in caplog.records if "no glyph" in r.getMessage()]  # the shipped font covers these
    _render(_job(tmp_path, "ar1", prompt="قطة تتثاءب 一只猫", frames=2))
    _render(_job(tmp_path, "ar2", prompt="قطة 一只猫", frames=2))
    warnings = [r.getMessage() for r in caplog.records if "no glyph" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "ARABIC" in warnings[0] and "SEEDGATE_PREVIEW_FONT" in warnings[0]


@pytest.mark.parametrize("mode", ["text", "first_frame", "first_last_frame"])
def test_every_preview_carries_its_label(tmp_path: Path, mode: str) -> None:
    first = _image(tmp_path / "a.png", (90, 90, 90), size=(W, H))
    last = _image(tmp_path / "b.png", (90, 90, 90), size=(W, H))
    inputs = {
        "text": (),
        "first_frame": (MediaInput("image", "first_frame", first),),
        "first_last_frame": (MediaInput("image", "first_frame", first), MediaInput("image", "last_frame", last)),
    }[mode]
    job = _job(tmp_path, mode, mode=mode, inputs=inputs, frames=4, camera_fixed=True, return_last_frame=True)
    result = _render(job)
    frames = _frames(result.video_path)
    png = np.asarray(Image.open(result.last_frame_path).convert("RGB"))  # the clean frame that seeds the next clip
    corner = (slice(0, H // 12), slice(0, W // 5))
    for frame in frames[-1:]:
        # White text over a dark shadow in the top-left corner, nowhere else.
        assert _diff(frame[corner], png[corner]) > 3.0
        lighter = frame[corner].astype(np.int16).min(axis=2) - png[corner].astype(np.int16).min(axis=2)
        assert (lighter > 60).sum() > 50
        assert _diff(frame[H // 4 :], png[H // 4 :]) < 2.0
