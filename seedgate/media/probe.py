"""Audit fetched media against the Seedance (Ark) input limits, judging files by their content.

Every audit sniffs magic bytes first and then hands the file only to the one parser it claims to be
(Pillow restricted to the allowed formats, PyAV with the demuxer forced), so untrusted bytes never
reach the long tail of FFmpeg/Pillow probes. Limits are checked from headers and container metadata
before any pixel or sample is decoded, and the decoding that is done is capped.

The audit functions are synchronous and CPU/IO bound. Servers call them through ``audit_media_bounded``, which runs
them in a small pool of decode processes (the decode budget, below): a legal 6000x6000 RGBA PNG is 144 MB once
decoded, and in the API process six at once took 3.45 GB that glibc never gave back.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import math
import multiprocessing
import os
import struct
import threading
import zlib
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, UnidentifiedImageError

# Register every Pillow plugin now: Image.OPEN only lists formats that were imported, and a fetched file has
# no extension to trigger the lazy import.
Image.init()

MB = 1024 * 1024

# Pillow format name -> the name we report. MPO is what Pillow calls the multi-picture JPEGs most
# phone cameras write.
_PIL_FORMATS = {
    "JPEG": "jpeg",
    "MPO": "jpeg",
    "PNG": "png",
    "WEBP": "webp",
    "BMP": "bmp",
    "TIFF": "tiff",
    "GIF": "gif",
    "HEIF": "heif",  # only registered when a plugin such as pillow-heif is installed
}

_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_M4A_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P "})
# Top-level atoms a QuickTime file without an ftyp box may start with.
_QT_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})


class MediaRejected(Exception):
    """The file is not acceptable input; the message is meant for API clients."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ImageLimits:
    min_side: int = 300
    max_side: int = 6000
    min_aspect: float = 0.4  # width / height
    max_aspect: float = 2.5
    max_bytes: int = 30 * MB
    # Decoding cap. Kept well below Pillow's own bomb threshold (~89 MP), so anything Pillow would
    # merely warn about is rejected here from the header, before decoding.
    max_pixels: int = 6000 * 6000


@dataclass(frozen=True)
class VideoLimits:
    min_side: int = 300
    max_side: int = 6000
    min_aspect: float = 0.4
    max_aspect: float = 2.5
    min_pixels: int = 409_600
    max_pixels: int = 8_295_044
    min_duration: float = 2.0
    max_duration: float = 15.0
    min_fps: float = 24.0
    max_fps: float = 60.0
    max_bytes: int = 200 * MB
    # NTSC rates (23.976, 59.94) and encoder rounding of the last frame should not fail a check
    # that a human would consider passed.
    fps_tolerance: float = 0.1
    duration_tolerance: float = 0.05


@dataclass(frozen=True)
class AudioLimits:
    min_duration: float = 2.0
    max_duration: float = 15.0
    max_bytes: int = 15 * MB
    duration_tolerance: float = 0.05


@dataclass(frozen=True)
class ImageInfo:
    format: str  # jpeg | png | webp | bmp | tiff | gif | heif
    width: int  # as displayed, i.e. after the EXIF orientation is applied
    height: int


@dataclass(frozen=True)
class VideoInfo:
    format: str  # mp4 | mov
    codec: str  # h264 | hevc
    width: int  # coded size; a rotation flag in the container is not applied
    height: int
    fps: float
    duration: float
    has_audio: bool


@dataclass(frozen=True)
class AudioInfo:
    format: str  # wav | mp3
    codec: str  # e.g. pcm_s16le, mp3
    duration: float
    sample_rate: int
    channels: int


# --------------------------------------------------------------------------- content sniffing


HEAD_BYTES = 512  # what sniffing a file's type reads of it


def _head(path: Path, n: int = HEAD_BYTES) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def _bmff_brand(head: bytes) -> bytes | None:
    """Major brand of an ISO base media file (b"qt  " for QuickTime without ftyp), else None."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return head[8:12]
    if len(head) >= 8 and head[4:8] in _QT_ATOMS:
        size = struct.unpack(">I", head[:4])[0]
        if size in (0, 1) or size >= 8:
            return b"qt  "
    return None


def _is_mpeg_audio(head: bytes) -> bool:
    # Frame sync (11 bits) and a layer that is not the reserved 00, which is where ADTS AAC lives.
    return len(head) >= 4 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] & 0x06) != 0


def _is_adts(head: bytes) -> bool:
    return len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xF6) == 0xF0


def _is_bmp(head: bytes) -> bool:
    # "BM" alone is too common in text; the DIB header size must be one of the known ones.
    return (
        len(head) >= 18
        and head[:2] == b"BM"
        and struct.unpack("<I", head[14:18])[0] in (12, 16, 40, 52, 56, 64, 108, 124)
    )


def _sniff(head: bytes) -> tuple[str, str] | None:
    """(kind, description) of content, e.g. ("image", "a PNG image"), or None if unrecognised."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "a JPEG image"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "a PNG image"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image", "a GIF image"
    if head[:4] == b"RIFF" and len(head) >= 12:
        sub = head[8:12]
        if sub == b"WEBP":
            return "image", "a WebP image"
        if sub == b"WAVE":
            return "audio", "a WAV audio file"
        if sub == b"AVI ":
            return "video", "an AVI video"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "image", "a TIFF image"
    if _is_bmp(head):
        return "image", "a BMP image"
    brand = _bmff_brand(head)
    if brand is not None:
        if brand in _HEIF_BRANDS:
            return "image", "a HEIF/HEIC image"
        if brand in _AVIF_BRANDS:
            return "image", "an AVIF image"
        if brand in _M4A_BRANDS:
            return "audio", "an M4A audio file"
        if brand == b"qt  ":
            return "video", "a MOV video"
        return "video", "an MP4 video"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video", "a Matroska/WebM video"
    if head.startswith(b"FLV\x01"):
        return "video", "an FLV video"
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return "video", "an MPEG-TS video"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "video", "an MPEG-PS video"
    if head.startswith(b"ID3") or _is_mpeg_audio(head):
        return "audio", "an MP3 audio file"
    if _is_adts(head):
        return "audio", "an AAC audio stream"
    if head.startswith(b"fLaC"):
        return "audio", "a FLAC audio file"
    if head.startswith(b"OggS"):
        return "audio", "an Ogg file"
    return None


_MIME = {
    "a JPEG image": "image/jpeg",
    "a PNG image": "image/png",
    "a GIF image": "image/gif",
    "a WebP image": "image/webp",
    "a TIFF image": "image/tiff",
    "a BMP image": "image/bmp",
    "a HEIF/HEIC image": "image/heic",
    "an AVIF image": "image/avif",
    "a WAV audio file": "audio/wav",
    "an MP3 audio file": "audio/mpeg",
    "an M4A audio file": "audio/mp4",
    "an AAC audio stream": "audio/aac",
    "a FLAC audio file": "audio/flac",
    "an Ogg file": "audio/ogg",
    "an MP4 video": "video/mp4",
    "a MOV video": "video/quicktime",
    "a Matroska/WebM video": "video/webm",
}


def sniff_mime(path: Path) -> str:
    """The content type of a stored file, read from its bytes (for data: URLs sent to an upstream)."""
    return mime_of_head(_head(path))


def mime_of_head(head: bytes) -> str:
    """The content type the first HEAD_BYTES of a file show."""
    found = _sniff(head)
    return _MIME.get(found[1], "application/octet-stream") if found else "application/octet-stream"


def _describe_other(head: bytes) -> str | None:
    """Description of common non-media content, for error messages."""
    if not head:
        return "empty"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip archive"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "an HTML page"
    if b"<svg" in text[:300]:
        return "an SVG image (vector images are not supported)"
    if text.startswith(b"<?xml"):
        return "an XML document"
    if text.startswith((b"{", b"[")):
        return "JSON text"
    try:
        decoded = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte sequence cut at the end of the sample is still text.
        try:
            decoded = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return None
    if decoded and all(ch.isprintable() or ch in "\r\n\t" for ch in decoded):
        return "text"
    return None


def _describe(path: Path) -> str | None:
    head = _head(path)
    sniffed = _sniff(head)
    return sniffed[1] if sniffed else _describe_other(head)


def sniff_kind(path: Path) -> str | None:
    """ "image", "video" or "audio" judged from the file's leading bytes, or None if unrecognised.

    This is a classification only; the audit_* functions decide whether the file is acceptable.
    """
    sniffed = _sniff(_head(Path(path)))
    return sniffed[0] if sniffed else None


def _not_a(path: Path, kind: str) -> MediaRejected:
    what = _describe(path)
    if what is None:
        return MediaRejected(f"not a recognised {kind}")
    if what == "empty":
        return MediaRejected("file is empty")
    return MediaRejected(f"file is {what}, not {'an' if kind[0] in 'aeiou' else 'a'} {kind}")


def _check_size(path: Path, max_bytes: int, kind: str) -> int:
    size = path.stat().st_size
    if size == 0:
        raise MediaRejected("file is empty")
    if size > max_bytes:
        raise MediaRejected(f"{kind} is {size} bytes; the limit is {max_bytes} bytes ({max_bytes / MB:g} MB)")
    return size


def _fmt(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


# --------------------------------------------------------------------------- images


_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError, TypeError)


def audit_image(path: Path, limits: ImageLimits = ImageLimits()) -> ImageInfo:
    """Check an image file against `limits`; raise MediaRejected with a client-facing reason."""
    path = Path(path)
    _check_size(path, limits.max_bytes, "image")
    head = _head(path)
    sniffed = _sniff(head)
    if _bmff_brand(head) in _HEIF_BRANDS and "HEIF" not in Image.OPEN:
        raise MediaRejected(
            "HEIC/HEIF images are not supported by this server (no HEIF decoder installed); "
            "send JPEG, PNG or WebP instead"
        )
    allowed = [name for name in _PIL_FORMATS if name in Image.OPEN]
    try:
        with Image.open(path, formats=allowed) as im:
            pil_format = im.format or ""
            stored_w, stored_h = im.size
    except Image.DecompressionBombError as exc:
        raise MediaRejected(f"image dimensions are too large to decode safely ({exc})") from None
    except (UnidentifiedImageError, *_DECODE_ERRORS):
        if sniffed is not None and sniffed[0] == "image":
            if sniffed[1] in ("an AVIF image",):
                raise MediaRejected(f"file is {sniffed[1]}; {_IMAGE_FORMATS_HINT}") from None
            # The magic bytes say a supported format, yet the header does not parse.
            raise MediaRejected(f"image data is corrupt or truncated ({sniffed[1]})") from None
        raise _not_a(path, "image") from None
    fmt = _PIL_FORMATS.get(pil_format)
    if fmt is None:  # pragma: no cover - Image.open was restricted to these formats
        raise MediaRejected(f"image format {pil_format} is not supported; {_IMAGE_FORMATS_HINT}")

    # Side and pixel limits are symmetric under rotation, so the stored size decides them before any
    # decoding; the EXIF orientation (which for PNG is only known after decoding) matters for aspect.
    _check_image_sides(stored_w, stored_h, limits)

    # With the dimensions known to be sane, touch the pixel data: verify() catches structural damage
    # (PNG CRCs), load() catches truncated or corrupt compressed data.
    try:
        with Image.open(path, formats=[pil_format]) as im:
            im.verify()
        with Image.open(path, formats=[pil_format]) as im:
            if pil_format in ("JPEG", "MPO"):
                # DCT scaling decodes every block at 1/8 size: still reads all the entropy-coded
                # data (so truncation is caught) at a fraction of the memory.
                im.draft(im.mode, (max(1, stored_w // 8), max(1, stored_h // 8)))
            im.load()
            orientation = im.getexif().get(0x0112, 1)
    except Image.DecompressionBombError as exc:
        raise MediaRejected(f"image dimensions are too large to decode safely ({exc})") from None
    except _DECODE_ERRORS as exc:
        raise MediaRejected(f"image data is corrupt or truncated ({exc})") from None

    # EXIF orientations 5-8 rotate by 90 degrees: the picture the client means is transposed.
    width, height = (stored_h, stored_w) if orientation in (5, 6, 7, 8) else (stored_w, stored_h)
    aspect = width / height
    if not limits.min_aspect <= aspect <= limits.max_aspect:
        raise MediaRejected(
            f"image is {width}x{height} (aspect ratio {aspect:.2f}); width/height must be between "
            f"{_fmt(limits.min_aspect)} and {_fmt(limits.max_aspect)}"
        )
    return ImageInfo(format=fmt, width=width, height=height)


_IMAGE_FORMATS_HINT = "supported formats are JPEG, PNG, WebP, BMP, TIFF and GIF"


def _check_image_sides(width: int, height: int, limits: ImageLimits) -> None:
    if not (limits.min_side <= width <= limits.max_side and limits.min_side <= height <= limits.max_side):
        raise MediaRejected(
            f"image is {width}x{height}; width and height must be between {limits.min_side} and {limits.max_side} px"
        )
    if width * height > limits.max_pixels:
        raise MediaRejected(f"image is {width}x{height}; at most {limits.max_pixels} pixels are allowed")


# --------------------------------------------------------------------------- video


def _open_av(path: Path, fmt: str, kind: str) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r", format=fmt, metadata_errors="ignore")
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise MediaRejected(f"{kind} could not be read; the file is corrupt or truncated ({_av_reason(exc)})") from None


def _av_reason(exc: Exception) -> str:
    # FFmpeg's str() names the file; clients must not see server paths.
    return str(getattr(exc, "strerror", None) or type(exc).__name__)


def _codec_name(stream: av.stream.Stream) -> str:
    codec = stream.codec_context.codec
    # canonical_name maps decoder variants (mp3float, h264_cuvid) to the format's codec.
    return str(getattr(codec, "canonical_name", None) or codec.name)


def _rate(value: Fraction | None) -> float | None:
    if value is None or value.denominator == 0 or value <= 0:
        return None
    return float(value)


def _stream_duration(stream: av.stream.Stream, container: av.container.InputContainer) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration and container.duration > 0:
        return container.duration / av.time_base
    return None


def _scan_packets(
    container: av.container.InputContainer, stream: av.VideoStream | av.AudioStream, max_packets: int
) -> tuple[int, float | None, bool, bool]:
    """Demux `stream` up to `max_packets` packets, decoding only until the first frame.

    Returns (packets, end time in s or None, decoded a frame, hit the packet cap). Demuxing without
    decoding is cheap, and it catches files whose index promises more data than the file holds.
    """
    count = 0
    end: float | None = None
    decoded = False
    hit_cap = False
    try:
        for packet in container.demux(stream):
            if packet.size == 0 and packet.pts is None:
                # The flush packet at EOF: lets the decoder emit a frame held back for reordering.
                if not decoded:
                    decoded = _decode_any(stream, packet)
                continue
            count += 1
            if count > max_packets:
                hit_cap = True
                break
            if packet.pts is not None and packet.time_base:
                stop = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                end = stop if end is None else max(end, stop)
            if not decoded:
                decoded = _decode_any(stream, packet)
    except (av.FFmpegError, OSError) as exc:
        raise MediaRejected(f"file is corrupt or truncated ({_av_reason(exc)})") from None
    return count, end, decoded, hit_cap


def _decode_any(stream: av.VideoStream | av.AudioStream, packet: av.Packet[av.stream.Stream]) -> bool:
    try:
        return len(stream.codec_context.decode(packet)) > 0
    except av.FFmpegError:
        return False


def audit_video(path: Path, limits: VideoLimits = VideoLimits()) -> VideoInfo:
    """Check a reference video against `limits`; raise MediaRejected with a client-facing reason."""
    path = Path(path)
    _check_size(path, limits.max_bytes, "video")
    head = _head(path)
    brand = _bmff_brand(head)
    if brand is None or brand in _HEIF_BRANDS or brand in _AVIF_BRANDS or brand in _M4A_BRANDS:
        what = _describe(path)
        if what and what.endswith("video"):
            raise MediaRejected(f"file is {what}; only MP4 and MOV videos are accepted")
        raise _not_a(path, "video")
    fmt = "mov" if brand == b"qt  " else "mp4"

    container = _open_av(path, "mov", "video")
    try:
        if not container.streams.video:
            raise MediaRejected("file has no video stream")
        stream = container.streams.video[0]
        codec = _codec_name(stream)
        if codec not in ("h264", "hevc"):
            raise MediaRejected(f"video codec is {codec}; only H.264 and H.265 are accepted")
        width, height = stream.codec_context.width, stream.codec_context.height
        if width <= 0 or height <= 0:
            raise MediaRejected("video dimensions could not be read")
        if not (limits.min_side <= width <= limits.max_side and limits.min_side <= height <= limits.max_side):
            raise MediaRejected(
                f"video is {width}x{height}; width and height must be between "
                f"{limits.min_side} and {limits.max_side} px"
            )
        aspect = width / height
        if not limits.min_aspect <= aspect <= limits.max_aspect:
            raise MediaRejected(
                f"video is {width}x{height} (aspect ratio {aspect:.2f}); width/height must be between "
                f"{_fmt(limits.min_aspect)} and {_fmt(limits.max_aspect)}"
            )
        if not limits.min_pixels <= width * height <= limits.max_pixels:
            raise MediaRejected(
                f"video is {width}x{height} ({width * height} pixels); the frame must have between "
                f"{limits.min_pixels} and {limits.max_pixels} pixels"
            )
        audio_codecs = [_codec_name(a) for a in container.streams.audio]
        for name in audio_codecs:
            if name not in ("aac", "mp3"):
                raise MediaRejected(f"video's audio track is {name}; only AAC or MP3 audio is accepted")

        duration = _stream_duration(stream, container)
        fps = _rate(stream.average_rate) or _rate(stream.guessed_rate)
        if duration is not None:
            _check_video_duration(duration, limits)
        if fps is not None:
            _check_fps(fps, limits)

        # Bound the scan by what a valid file can hold, so a file whose metadata lies about its length
        # (or has none) cannot make us walk millions of packets.
        max_packets = math.ceil((limits.max_duration + 1) * (limits.max_fps + 1) * 1.5)
        count, end, decoded, hit_cap = _scan_packets(container, stream, max_packets)
        if hit_cap:
            raise MediaRejected(f"video has more than {max_packets} frames; it is too long or its fps too high")
        if not decoded:
            raise MediaRejected("video stream could not be decoded; the file is corrupt or truncated")
        expected = stream.frames
        if expected and count < expected:
            raise MediaRejected(f"video is truncated: the file holds {count} of its {expected} frames")
        if duration is None:
            if end is None:
                raise MediaRejected("video duration could not be determined")
            duration = end
            _check_video_duration(duration, limits)
        if fps is None:
            if count < 2 or duration <= 0:
                raise MediaRejected("video frame rate could not be determined")
            fps = count / duration
            _check_fps(fps, limits)
    finally:
        container.close()
    return VideoInfo(
        format=fmt,
        codec=codec,
        width=width,
        height=height,
        fps=round(fps, 3),
        duration=round(duration, 3),
        has_audio=bool(audio_codecs),
    )


def _check_range(value: float, low: float, high: float, tolerance: float, described: str, unit: str) -> None:
    if not low - tolerance <= value <= high + tolerance:
        raise MediaRejected(f"{described}; it must be between {_fmt(low)} and {_fmt(high)} {unit}")


def _check_video_duration(duration: float, limits: VideoLimits) -> None:
    _check_range(
        duration,
        limits.min_duration,
        limits.max_duration,
        limits.duration_tolerance,
        f"video is {_fmt(duration)} s long",
        "s",
    )


def _check_fps(fps: float, limits: VideoLimits) -> None:
    _check_range(
        fps, limits.min_fps, limits.max_fps, limits.fps_tolerance, f"video frame rate is {_fmt(fps)} fps", "fps"
    )


# --------------------------------------------------------------------------- audio


def audit_audio(path: Path, limits: AudioLimits = AudioLimits()) -> AudioInfo:
    """Check a reference audio file against `limits`; raise MediaRejected with a client-facing reason."""
    path = Path(path)
    _check_size(path, limits.max_bytes, "audio")
    head = _head(path)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        fmt = "wav"
    elif head.startswith(b"ID3") or _is_mpeg_audio(head):
        fmt = "mp3"
    else:
        what = _describe(path)
        if what and what.endswith(("audio file", "audio stream", "Ogg file")):
            raise MediaRejected(f"file is {what}; only WAV and MP3 audio are accepted")
        raise _not_a(path, "audio file")

    container = _open_av(path, fmt, "audio")
    try:
        if not container.streams.audio:
            raise MediaRejected("file has no audio stream")
        stream = container.streams.audio[0]
        codec = _codec_name(stream)
        if fmt == "mp3" and codec != "mp3":
            raise MediaRejected(f"audio codec is {codec}; an .mp3 file must contain MP3 audio")
        cc = stream.codec_context
        sample_rate = int(cc.sample_rate or 0)
        channels = int(cc.layout.nb_channels if cc.layout is not None else 0)
        if sample_rate <= 0 or channels <= 0:
            raise MediaRejected("audio sample rate or channel count could not be read")
        duration = _stream_duration(stream, container)
        # The size cap already bounds the scan; the packet cap is a backstop for tiny packets.
        count, end, decoded, hit_cap = _scan_packets(container, stream, 200_000)
        if not decoded:
            raise MediaRejected("audio stream could not be decoded; the file is corrupt or truncated")
        if end is not None and not hit_cap:
            # The packets are the truth: MP3 durations in metadata are estimated from the bitrate and
            # a truncated WAV still declares its original length.
            duration = end
        if duration is None:
            raise MediaRejected("audio duration could not be determined")
        _check_audio_duration(duration, limits)
    finally:
        container.close()
    return AudioInfo(format=fmt, codec=codec, duration=round(duration, 3), sample_rate=sample_rate, channels=channels)


def _check_audio_duration(duration: float, limits: AudioLimits) -> None:
    _check_range(
        duration,
        limits.min_duration,
        limits.max_duration,
        limits.duration_tolerance,
        f"audio is {_fmt(duration)} s long",
        "s",
    )


# --------------------------------------------------------------------------- any kind


def audit_media(kind: str, path: Path) -> dict[str, object]:
    """Audit `path` as an image, video or audio file; returns what tasks and assets record about it."""
    if kind == "image":
        image = audit_image(path)
        return {"format": image.format, "width": image.width, "height": image.height}
    if kind == "video":
        video = audit_video(path)
        return {
            "format": video.format,
            "codec": video.codec,
            "width": video.width,
            "height": video.height,
            "fps": round(video.fps, 3),
            "seconds": round(video.duration, 3),
            "has_audio": video.has_audio,
        }
    if kind == "audio":
        audio = audit_audio(path)
        return {
            "format": audio.format,
            "codec": audio.codec,
            "seconds": round(audio.duration, 3),
            "sample_rate": audio.sample_rate,
            "channels": audio.channels,
        }
    raise MediaRejected(f"unknown media kind {kind!r}")


# --------------------------------------------------------------------------- decode budget

# How many audits decode at once on this node (each in its own process), and how much memory one may use. A
# decode worker is replaced after a few audits and trims its heap after each, so what a decode took is returned
# to the system instead of staying in the API process for good.
DECODE_WORKERS = int(os.environ.get("SEEDGATE_DECODE_WORKERS", "2") or 2)
DECODE_MEMORY_MB = int(os.environ.get("SEEDGATE_DECODE_MEMORY_MB", "1024") or 1024)
_AUDITS_PER_WORKER = 20

_pool: ProcessPoolExecutor | None = None
_pool_audits = 0  # audits handed to _pool so far
_pool_lock = threading.Lock()


def _return_freed_memory() -> None:
    """In a decode worker: make glibc give large freed blocks back to the system at once. By default its mmap
    threshold grows with every large block freed (up to 32 MB), after which decoded images (Pillow allocates them in
    16 MB blocks) land in heaps that are not returned. Only here: a fixed threshold makes every large allocation a
    fresh mmap, 2-4x slower in allocation-heavy loops such as rendering."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(-3, 1024 * 1024)  # M_MMAP_THRESHOLD


def _limit_worker_memory(megabytes: int) -> None:
    """In a decode worker: cap its data segment, so a decoder that goes wild fails with MemoryError instead of
    taking the machine's memory."""
    import resource

    _return_freed_memory()
    if megabytes > 0:
        cap = megabytes * MB
        resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))


def trim_heap() -> None:
    """Give the heap's free memory back to the system (glibc keeps it otherwise): after a large decode is freed."""
    # Not glibc: nothing to do (a decode worker's replacement after _AUDITS_PER_WORKER audits returns it anyway).
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _audit_in_worker(kind: str, path: str) -> dict[str, object]:
    try:
        return audit_media(kind, Path(path))
    except MemoryError:
        raise MediaRejected(f"the {kind} needs more memory to decode than this server allows") from None
    finally:
        trim_heap()


def _decode_pool() -> ProcessPoolExecutor:
    """The pool for the next audit. Workers are replaced by replacing the whole pool after _AUDITS_PER_WORKER
    audits per worker (the old one finishes what it was given, then its workers exit), not with
    `max_tasks_per_child`: with audits queued, CPython's executor then stops replacing the workers that reached
    their limit and every later audit waits forever (gh-115634, Python 3.11 to 3.13)."""
    global _pool, _pool_audits
    with _pool_lock:
        workers = max(1, DECODE_WORKERS)
        if _pool is not None and _pool_audits >= workers * _AUDITS_PER_WORKER:
            _pool.shutdown(wait=False)
            _pool = None
        if _pool is None:
            # forkserver: workers never inherit the server's threads, sockets or event loop.
            _pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_limit_worker_memory,
                initargs=(DECODE_MEMORY_MB,),
            )
            _pool_audits = 0
        _pool_audits += 1
        return _pool


def _drop_pool(broken: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


async def audit_media_bounded(kind: str, path: Path) -> dict[str, object]:
    """`audit_media` within the decode budget: in a decode process, at most DECODE_WORKERS at a time (the rest
    wait their turn), never in the calling process."""
    pool = _decode_pool()
    try:
        return await asyncio.wrap_future(pool.submit(_audit_in_worker, kind, str(path)))
    except BrokenProcessPool:
        # A worker died mid-decode (killed for memory, or a decoder crash): this file is the likely cause.
        _drop_pool(pool)
        raise MediaRejected(f"the {kind} could not be decoded within this server's limits") from None


def shutdown_decoders() -> None:
    """Stop the decode workers (at server shutdown)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)
