"""Media audit tests on files generated here with Pillow, PyAV and numpy."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from seedgate.media.probe import (
    AudioInfo,
    AudioLimits,
    ImageInfo,
    ImageLimits,
    MediaRejected,
    VideoInfo,
    VideoLimits,
    audit_audio,
    audit_image,
    audit_video,
    sniff_kind,
)

HAS_MP3 = "libmp3lame" in av.codecs_available
HAS_X265 = "libx265" in av.codecs_available

# --------------------------------------------------------------------------- generators


def _image(path: Path, size: tuple[int, int], fmt: str, *, noise: bool = False, **save: object) -> Path:
    w, h = size
    if noise:
        # Real entropy-coded data to truncate; too slow to use everywhere (GIF quantising).
        arr = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
    else:
        arr = np.zeros((h, w, 3), np.uint8)
        arr[:, :, 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
        arr[:, :, 1] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]
    img = Image.fromarray(arr)
    if fmt == "GIF":
        img = img.convert("P", palette=Image.Palette.WEB)  # Pillow's adaptive quantiser is slow
    img.save(path, format=fmt, **save)
    return path


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A valid-looking PNG whose IHDR claims `width`x`height` but whose pixel data is tiny."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    )
    return path


def _video(
    path: Path,
    *,
    seconds: float = 3,
    fps: int = 24,
    size: tuple[int, int] = (640, 640),
    codec: str = "libx264",
    fmt: str | None = None,
    audio: str | None = None,
    faststart: bool = False,
) -> Path:
    w, h = size
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format=fmt, options=options) as out:
        enc_opts = {"preset": "ultrafast"} if codec in ("libx264", "libx265") else {}
        if codec == "libx265":
            enc_opts["x265-params"] = "log-level=error"
        stream = out.add_stream(codec, rate=fps, options=enc_opts)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        astream = out.add_stream(audio, rate=16000, layout="mono") if audio else None
        base = np.zeros((h, w, 3), np.uint8)
        for i in range(int(seconds * fps)):
            base[:, :, 0] = (i * 7) % 255
            base[: h // 2, : w // 2, 1] = (i * 13) % 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(base, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if astream is not None:
            _encode_tone(out, astream, seconds, 16000)
    return path


def _encode_tone(out: av.container.OutputContainer, stream: av.stream.Stream, seconds: float, rate: int) -> None:
    n = int(seconds * rate)
    tone = (np.sin(2 * np.pi * 440 * np.arange(n) / rate) * 8000).astype(np.int16).reshape(1, -1)
    step = 1024  # several frames: some encoders take fixed-size frames only through their own FIFO
    for start in range(0, n, step):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, start : start + step]), format="s16",
                                           layout="mono")  # fmt: skip
        frame.sample_rate = rate
        frame.pts = start
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def _audio(path: Path, seconds: float, codec: str = "pcm_s16le", fmt: str = "wav", rate: int = 16000) -> Path:
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        _encode_tone(out, stream, seconds, rate)
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The expensive files, made once per module."""
    d = tmp_path_factory.mktemp("media")
    files = {
        "mp4": _video(d / "ok.mp4", audio="aac"),
        "faststart": _video(d / "faststart.mp4", seconds=2, faststart=True),
        "wav": _audio(d / "ok.wav", 3),
    }
    return files


# --------------------------------------------------------------------------- images


@pytest.mark.parametrize(
    ("fmt", "ext", "size", "expected"),
    [
        ("PNG", "png", (640, 480), "png"),
        ("JPEG", "jpg", (1024, 768), "jpeg"),
        ("WEBP", "webp", (500, 500), "webp"),
        ("BMP", "bmp", (300, 750), "bmp"),
        ("TIFF", "tiff", (400, 300), "tiff"),
        ("GIF", "gif", (750, 300), "gif"),
    ],
)
def test_image_formats_accepted(tmp_path: Path, fmt: str, ext: str, size: tuple[int, int], expected: str) -> None:
    # The extension is deliberately wrong: only the content counts.
    path = _image(tmp_path / f"img.{'mp4' if ext == 'png' else 'bin'}", size, fmt)
    assert audit_image(path) == ImageInfo(format=expected, width=size[0], height=size[1])
    assert sniff_kind(path) == "image"


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ((200, 200), "image is 200x200; width and height must be between 300 and 6000 px"),
        ((640, 299), "image is 640x299; width and height must be between 300 and 6000 px"),
        ((1600, 400), "image is 1600x400 (aspect ratio 4.00); width/height must be between 0.4 and 2.5"),
        ((300, 800), "aspect ratio 0.38"),
    ],
)
def test_image_geometry_rejected(tmp_path: Path, size: tuple[int, int], message: str) -> None:
    path = _image(tmp_path / "img.png", size, "PNG")
    with pytest.raises(MediaRejected) as info:
        audit_image(path)
    assert message in str(info.value)


def test_image_aspect_edges_accepted(tmp_path: Path) -> None:
    assert audit_image(_image(tmp_path / "a.png", (750, 300), "PNG")).width == 750  # exactly 2.5
    assert audit_image(_image(tmp_path / "b.png", (300, 750), "PNG")).height == 750  # exactly 0.4


def test_custom_image_limits(tmp_path: Path) -> None:
    path = _image(tmp_path / "small.png", (200, 200), "PNG")
    assert audit_image(path, ImageLimits(min_side=100)) == ImageInfo("png", 200, 200)
    with pytest.raises(MediaRejected, match="limit is 100 bytes"):
        audit_image(path, ImageLimits(min_side=100, max_bytes=100))


def test_dimensions_checked_before_decoding(tmp_path: Path) -> None:
    # The pixel data is bogus; a decode would fail with a different message. The header is enough.
    path = _png_header_only(tmp_path / "big.png", 7000, 7000)
    with pytest.raises(MediaRejected, match="image is 7000x7000; width and height must be between"):
        audit_image(path)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_decompression_bomb_header(tmp_path: Path) -> None:
    path = _png_header_only(tmp_path / "bomb.png", 100_000, 100_000)
    # Refused from the header: the file has no pixel data, so a decode would fail with another message.
    with pytest.raises(MediaRejected, match="too large to decode safely"):
        audit_image(path)
    # Within Pillow's warning band (89-179 MP): still refused from the header alone.
    with pytest.raises(MediaRejected, match="image is 12000x10000"):
        audit_image(_png_header_only(tmp_path / "warn.png", 12000, 10000))


def test_pixel_data_that_does_not_match_header(tmp_path: Path) -> None:
    path = _png_header_only(tmp_path / "short.png", 640, 640)
    with pytest.raises(MediaRejected, match="corrupt or truncated"):
        audit_image(path)


@pytest.mark.parametrize(("fmt", "keep"), [("JPEG", 0.5), ("PNG", 0.6), ("WEBP", 0.5)])
def test_truncated_images(tmp_path: Path, fmt: str, keep: float) -> None:
    full = _image(tmp_path / "full", (800, 600), fmt, noise=True).read_bytes()
    path = tmp_path / "cut"
    path.write_bytes(full[: int(len(full) * keep)])
    with pytest.raises(MediaRejected, match="image data is corrupt or truncated"):
        audit_image(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello, this is not an image\n", "file is text, not an image"),
        (b"<!DOCTYPE html><html><body>404</body></html>", "file is an HTML page, not an image"),
        (b'{"error": "not found"}', "file is JSON text, not an image"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400"/>', "file is an SVG image"),
        (b"%PDF-1.7\n...", "file is a PDF document, not an image"),
        (bytes(range(256)) * 4, "not a recognised image"),
        (b"", "file is empty"),
        # An ISO-BMFF box claiming to be HEIC: no decoder is installed in the test environment.
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIC/HEIF images are not supported"),
    ],
)
def test_not_images(tmp_path: Path, content: bytes, message: str) -> None:
    if b"ftypheic" in content and "HEIF" in Image.OPEN:
        pytest.skip("a HEIF plugin is installed here")
    path = tmp_path / "fake.png"
    path.write_bytes(content)
    with pytest.raises(MediaRejected) as info:
        audit_image(path)
    assert message in str(info.value)


def test_other_pillow_formats_rejected(tmp_path: Path) -> None:
    # Pillow can read these, but they are not on the list; the file must not be handed to them.
    for fmt in ("PPM", "TGA", "ICO"):
        path = _image(tmp_path / f"img.{fmt.lower()}", (400, 400) if fmt != "ICO" else (64, 64), fmt)
        with pytest.raises(MediaRejected):
            audit_image(path)


def test_video_and_audio_are_not_images(media: dict[str, Path]) -> None:
    with pytest.raises(MediaRejected, match="file is an MP4 video, not an image"):
        audit_image(media["mp4"])
    with pytest.raises(MediaRejected, match="file is a WAV audio file, not an image"):
        audit_image(media["wav"])


def test_exif_orientation_reported_as_displayed(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90: stored 600x300, shown 300x600
    path = _image(tmp_path / "rot.jpg", (600, 300), "JPEG", exif=exif.tobytes())
    assert audit_image(path) == ImageInfo("jpeg", 300, 600)


def test_jpeg_from_memory_roundtrip(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (512, 512), "red").save(buf, "JPEG")
    path = tmp_path / "x"
    path.write_bytes(buf.getvalue())
    assert audit_image(path) == ImageInfo("jpeg", 512, 512)


# --------------------------------------------------------------------------- video


def test_video_ok(media: dict[str, Path]) -> None:
    info = audit_video(media["mp4"])
    assert info == VideoInfo(format="mp4", codec="h264", width=640, height=640, fps=24.0, duration=3.0, has_audio=True)
    assert sniff_kind(media["mp4"]) == "video"


def test_video_faststart_and_mov(tmp_path: Path, media: dict[str, Path]) -> None:
    info = audit_video(media["faststart"])
    assert (info.format, info.duration, info.has_audio) == ("mp4", 2.0, False)
    mov = _video(tmp_path / "clip.mp4", seconds=2, fmt="mov", size=(800, 600))  # named .mp4, is MOV
    assert audit_video(mov) == VideoInfo("mov", "h264", 800, 600, 24.0, 2.0, False)


@pytest.mark.skipif(not HAS_X265, reason="PyAV built without libx265")
def test_video_hevc(tmp_path: Path) -> None:
    # Short clip and relaxed duration limit: x265 is slow even at its fastest preset.
    info = audit_video(_video(tmp_path / "h.mp4", seconds=0.5, codec="libx265"), VideoLimits(min_duration=0.4))
    assert (info.codec, info.width, info.duration) == ("hevc", 640, 0.5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seconds": 1}, "video is 1 s long; it must be between 2 and 15 s"),
        (
            {"seconds": 0.5, "size": (320, 320)},
            "video is 320x320 (102400 pixels); the frame must have between",
        ),
        ({"seconds": 0.5, "size": (640, 240)}, "video is 640x240; width and height must be between 300"),
        ({"seconds": 0.5, "size": (1600, 600)}, "(aspect ratio 2.67)"),
        ({"seconds": 2.5, "fps": 20}, "video frame rate is 20 fps; it must be between 24 and 60 fps"),
        ({"seconds": 0.5, "codec": "mpeg4"}, "video codec is mpeg4; only H.264 and H.265 are accepted"),
        ({"seconds": 0.5, "fmt": "mov", "audio": "pcm_s16le"}, "audio track is pcm_s16le; only AAC or MP3"),
    ],
)
def test_video_rejected(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    path = _video(tmp_path / "v.mp4", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(MediaRejected) as info:
        audit_video(path)
    assert message in str(info.value)


def test_video_containers_sniffed(tmp_path: Path) -> None:
    mkv = _video(tmp_path / "v.mp4", seconds=0.5, fmt="matroska")
    with pytest.raises(MediaRejected, match="file is a Matroska/WebM video; only MP4 and MOV videos are accepted"):
        audit_video(mkv)
    assert sniff_kind(mkv) == "video"
    png = _image(tmp_path / "frame.mp4", (640, 640), "PNG")
    with pytest.raises(MediaRejected, match="file is a PNG image, not a video"):
        audit_video(png)
    html = tmp_path / "page.mp4"
    html.write_bytes(b"<html><head><title>Access denied</title></head></html>")
    with pytest.raises(MediaRejected, match="file is an HTML page, not a video"):
        audit_video(html)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(MediaRejected, match="not a recognised video"):
        audit_video(junk)


def test_video_truncated(tmp_path: Path, media: dict[str, Path]) -> None:
    # Default muxing puts the index (moov) at the end: cutting the file loses it.
    data = media["mp4"].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaRejected, match="video could not be read; the file is corrupt or truncated"):
        audit_video(cut)
    assert "cut.mp4" not in str(pytest.raises(MediaRejected, audit_video, cut).value)  # no server paths
    # Faststart puts the index first: the header is intact but promises frames the file lacks.
    data = media["faststart"].read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(MediaRejected, match="truncated"):
        audit_video(cut)


def test_video_limits(media: dict[str, Path]) -> None:
    with pytest.raises(MediaRejected, match="limit is 1000 bytes"):
        audit_video(media["mp4"], VideoLimits(max_bytes=1000))
    with pytest.raises(MediaRejected, match="must be between 5 and 15 s"):
        audit_video(media["mp4"], VideoLimits(min_duration=5))
    assert audit_video(media["mp4"], VideoLimits(min_pixels=1000, min_fps=10)).fps == 24.0


def test_audio_is_not_video(media: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(MediaRejected, match="file is a WAV audio file, not a video"):
        audit_video(media["wav"])
    m4a = _audio(tmp_path / "a.m4a", 2.5, codec="aac", fmt="ipod")
    with pytest.raises(MediaRejected, match="file is an M4A audio file, not a video"):
        audit_video(m4a)


# --------------------------------------------------------------------------- audio


def test_wav_ok(media: dict[str, Path]) -> None:
    assert audit_audio(media["wav"]) == AudioInfo(
        format="wav", codec="pcm_s16le", duration=3.0, sample_rate=16000, channels=1
    )
    assert sniff_kind(media["wav"]) == "audio"


@pytest.mark.skipif(not HAS_MP3, reason="PyAV built without libmp3lame, cannot make an MP3 to test with")
def test_mp3_ok(tmp_path: Path) -> None:
    path = _audio(tmp_path / "a.wav", 3, codec="libmp3lame", fmt="mp3", rate=44100)  # named .wav, is MP3
    info = audit_audio(path)
    assert (info.format, info.codec, info.sample_rate, info.channels) == ("mp3", "mp3", 44100, 1)
    assert info.duration == pytest.approx(3.0, abs=0.1)
    assert sniff_kind(path) == "audio"
    with pytest.raises(MediaRejected, match="audio is 1"):
        audit_audio(_audio(tmp_path / "short.mp3", 1, codec="libmp3lame", fmt="mp3", rate=44100))


@pytest.mark.parametrize(
    ("seconds", "message"),
    [(1, "audio is 1 s long; it must be between 2 and 15 s"), (20, "audio is 20 s long")],
)
def test_wav_duration_rejected(tmp_path: Path, seconds: float, message: str) -> None:
    with pytest.raises(MediaRejected) as info:
        audit_audio(_audio(tmp_path / "a.wav", seconds, rate=8000))
    assert message in str(info.value)


def test_truncated_wav_measured_by_content(tmp_path: Path, media: dict[str, Path]) -> None:
    # The header still declares 3 s; only 1 s of samples survive the cut.
    data = media["wav"].read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: 44 + 16000 * 2])
    with pytest.raises(MediaRejected, match=r"audio is (0\.99\d*|1) s long"):
        audit_audio(cut)


def test_audio_rejections(tmp_path: Path, media: dict[str, Path]) -> None:
    m4a = _audio(tmp_path / "a.mp3", 3, codec="aac", fmt="ipod")
    with pytest.raises(MediaRejected, match="file is an M4A audio file; only WAV and MP3 audio are accepted"):
        audit_audio(m4a)
    adts = _audio(tmp_path / "b.mp3", 3, codec="aac", fmt="adts")
    with pytest.raises(MediaRejected, match="AAC audio stream; only WAV and MP3"):
        audit_audio(adts)
    text = tmp_path / "c.mp3"
    text.write_text("not audio at all")
    with pytest.raises(MediaRejected, match="file is text, not an audio file"):
        audit_audio(text)
    with pytest.raises(MediaRejected, match="file is an MP4 video, not an audio file"):
        audit_audio(media["mp4"])
    with pytest.raises(MediaRejected, match="limit is 1000 bytes"):
        audit_audio(media["wav"], AudioLimits(max_bytes=1000))
    header_only = tmp_path / "d.wav"
    header_only.write_bytes(media["wav"].read_bytes()[:44])
    with pytest.raises(MediaRejected):
        audit_audio(header_only)


# --------------------------------------------------------------------------- sniffing


def test_sniff_kind(tmp_path: Path, media: dict[str, Path]) -> None:
    (tmp_path / "t.txt").write_text("hello")
    (tmp_path / "e").write_bytes(b"")
    assert sniff_kind(tmp_path / "t.txt") is None
    assert sniff_kind(tmp_path / "e") is None
    assert sniff_kind(_image(tmp_path / "x.mp3", (64, 64), "JPEG")) == "image"
    assert sniff_kind(media["faststart"]) == "video"
    assert sniff_kind(_audio(tmp_path / "a.m4a", 0.5, codec="aac", fmt="ipod")) == "audio"


async def test_queued_audits_outlast_the_decode_workers_replacement(tmp_path: Path) -> None:
    # Many more audits at once than the workers take before they are replaced: with max_tasks_per_child the
    # executor stopped replacing them under a backlog and the rest waited forever (CPython gh-115634).
    import asyncio

    from seedgate.media import probe

    still = _image(tmp_path / "still.png", (320, 304), "PNG")
    count = 3 * max(1, probe.DECODE_WORKERS) * probe._AUDITS_PER_WORKER
    audits = asyncio.gather(*(probe.audit_media_bounded("image", still) for _ in range(count)))
    results = await asyncio.wait_for(audits, timeout=120)
    assert len(results) == count and all(r["width"] == 320 for r in results)
