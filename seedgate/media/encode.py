"""The MP4 every engine writes: yuv420p frames tagged BT.709 limited range, H.264 (libx264) and mono AAC.

Frames are handled as numpy views on their planes (`Planes`) so engines can compose in planar YUV and skip a
per-frame RGB->YUV conversion; RGB pictures are converted once with swscale.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import av
import numpy as np
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.video.reformatter import ColorRange, Colorspace, Interpolation
from av.video.stream import VideoStream
from PIL import Image

# superfast keeps 720p x 5 s well under 2 s on two cores while producing files about half the size
# of ultrafast; the benchmark's raw-encode ceiling imports these so both sides stay identical.
X264_PRESET = "superfast"
X264_CRF = 23
AUDIO_RATE = 48_000
AUDIO_BITRATE = 96_000

# FFmpeg's AVColorSpace / AVColorPrimaries / AVColorTransferCharacteristic value for BT.709.
_AVCOL_BT709 = 1
_AVCOL_RANGE_MPEG = 1


def open_h264_output(
    path: Path, width: int, height: int, fps: int, *, audio: bool = False
) -> tuple[OutputContainer, VideoStream, AudioStream | None]:
    """Open an MP4 with the engines' exact libx264 settings; returns (container, video, audio|None).

    Public so that the benchmark's raw-encode ceiling uses the very same codec configuration.
    """
    container = av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"})
    try:
        video = container.add_stream("libx264", rate=fps)
        video.width = width
        video.height = height
        video.pix_fmt = "yuv420p"
        video.options = {"preset": X264_PRESET, "crf": str(X264_CRF)}
        video.thread_count = 0  # libx264 picks the thread count from the core count
        cc = video.codec_context
        # Tag BT.709 limited range: that is what the frames contain and what HD players assume anyway.
        cc.colorspace = _AVCOL_BT709
        cc.color_primaries = _AVCOL_BT709
        cc.color_trc = _AVCOL_BT709
        cc.color_range = _AVCOL_RANGE_MPEG
        audio_stream = None
        if audio:
            audio_stream = container.add_stream("aac", rate=AUDIO_RATE)
            audio_stream.layout = "mono"
            audio_stream.format = "fltp"
            audio_stream.bit_rate = AUDIO_BITRATE
    except BaseException:
        container.close()
        raise
    return container, video, audio_stream


def new_yuv_frame(width: int, height: int) -> av.VideoFrame:
    """An empty yuv420p frame tagged with the colour metadata the engines write."""
    frame = av.VideoFrame(width, height, "yuv420p")
    frame.colorspace = _AVCOL_BT709
    frame.color_range = _AVCOL_RANGE_MPEG
    return frame


class Planes(NamedTuple):
    y: np.ndarray  # (h, w) uint8
    u: np.ndarray  # (h/2, w/2) uint8
    v: np.ndarray  # (h/2, w/2) uint8


def frame_views(frame: av.VideoFrame) -> Planes:
    """Writable numpy views on a yuv420p frame's planes (skipping the line padding)."""
    views = []
    for plane in frame.planes:
        flat = np.frombuffer(memoryview(plane), dtype=np.uint8)
        views.append(flat[: plane.height * plane.line_size].reshape(plane.height, plane.line_size))
        views[-1] = views[-1][:, : plane.width]
    return Planes(*views)


def planes_to_frame(planes: Planes) -> av.VideoFrame:
    """A new tagged frame holding a copy of `planes`."""
    h, w = planes.y.shape
    frame = new_yuv_frame(w, h)
    dst = frame_views(frame)
    dst.y[...] = planes.y
    dst.u[...] = planes.u
    dst.v[...] = planes.v
    return frame


def rgb_to_planes(rgb: np.ndarray | Image.Image) -> Planes:
    """Convert an RGB image (even size) to BT.709 limited-range yuv420p planes via swscale."""
    arr = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)[..., :3])
    frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
    yuv = frame.reformat(
        format="yuv420p",
        dst_colorspace=Colorspace.ITU709,
        dst_color_range=ColorRange.MPEG,
        interpolation=Interpolation.BILINEAR | Interpolation.ACCURATE_RND,
    )
    return Planes(*(np.array(view) for view in frame_views(yuv)))


def to_image(frame: av.VideoFrame) -> Image.Image:
    """The frame as an RGB PIL image (PyAV's own method carries no type annotations)."""
    image: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]
    return image


def audio_frame(samples: np.ndarray, pts: int) -> av.AudioFrame:
    """Mono float samples at AUDIO_RATE starting at sample `pts`, as the AAC encoder takes them."""
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="fltp", layout="mono")
    frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, pts, Fraction(1, AUDIO_RATE)
    return frame
