"""The prompt caption: wrapped, boxed text near the bottom of the text scene, and the fonts it is drawn with.

The CJK caption font ships with the package (a subset of Noto Sans CJK SC, SIL OFL 1.1; see fonts/OFL.txt and
tools/subset_cjk_font.py), so a Chinese prompt draws the same on every machine; SEEDGATE_PREVIEW_FONT overrides it.
What the font cannot draw shows as boxes and is logged once per script, so the cause is never a mystery.
"""

from __future__ import annotations

import logging
import os
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from seedgate.media.overlay import Overlay

# The engine's historical logger name, which operators' log filters may rely on.
log = logging.getLogger("seedgate.engines.preview")

# The font lives beside the engines (seedgate/engines/fonts/), where the package data and the subsetting tool put it.
_BUNDLED_CJK_FONT = Path(__file__).resolve().parent.parent / "fonts" / "NotoSansCJKsc-Subset.otf"


def _clean_text(text: str) -> str:
    """Drop what no font can draw (controls, lone surrogates) so drawing can never raise."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\n\t\r":
            out.append("\n" if ch == "\n" else " ")
        elif cat in ("Cc", "Cs", "Co", "Cn"):
            continue
        else:
            out.append(ch)
    return "".join(out).strip()


def _needs_cjk(text: str) -> bool:
    return any(ord(ch) >= 0x2E80 for ch in text)


@lru_cache(maxsize=1)
def _cjk_font_path() -> str | None:
    for candidate in (os.environ.get("SEEDGATE_PREVIEW_FONT", ""), str(_BUNDLED_CJK_FONT)):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@lru_cache(maxsize=32)
def _font(size: int, cjk: bool) -> Any:
    if cjk and (path := _cjk_font_path()):
        try:
            return ImageFont.truetype(path, size)
        except OSError as exc:
            _warn_once(
                f"font:{path}", "preview: cannot load the caption font %s (%s); CJK text is drawn as boxes", path, exc
            )
    return ImageFont.load_default(size=size)


_warned: set[str] = set()
_WARN_LOCK = threading.Lock()


def _warn_once(key: str, message: str, *args: object) -> None:
    with _WARN_LOCK:
        if key in _warned:
            return
        _warned.add(key)
    log.warning(message, *args)


def _glyph(font: Any, ch: str) -> tuple[tuple[int, int], bytes]:
    left, top, right, bottom = font.getbbox(ch)
    image = Image.new("L", (max(1, right - left), max(1, bottom - top)))
    ImageDraw.Draw(image).text((-left, -top), ch, font=font, fill=255)
    return image.size, image.tobytes()


@lru_cache(maxsize=64)
def _notdef(font: Any) -> tuple[tuple[int, int], bytes]:
    """How `font` draws a character it lacks: like a code point no font has."""
    return _glyph(font, "\U0010fffd")


@lru_cache(maxsize=4096)
def _missing_glyph(font: Any, ch: str) -> bool:
    """Whether `font` would draw `ch` as its "missing" box."""
    if ch.isspace():
        return False
    with _FONT_LOCK:
        try:
            return _glyph(font, ch) == _notdef(font)
        except (UnicodeError, ValueError, OSError):
            return True


def _script(ch: str) -> str:
    """A script-ish name for the log: the first word of the character's Unicode name (CJK, HANGUL, ARABIC ...)."""
    if unicodedata.category(ch) == "So":
        return "symbol/emoji"
    name = unicodedata.name(ch, "")
    return name.split(" ")[0] if name else f"U+{ord(ch):04X}"


def _report_undrawable(font: Any, text: str) -> None:
    """Log once per script what the caption font cannot draw (it shows as boxes), so the cause is never a mystery."""
    for ch in dict.fromkeys(text):
        if ord(ch) >= 0x80 and _missing_glyph(font, ch):
            script = _script(ch)
            _warn_once(
                f"script:{script}",
                "preview: the caption font has no glyph for %s text such as %r; it is "
                "drawn as boxes (SEEDGATE_PREVIEW_FONT names a font that has it)",
                script,
                ch,
            )


# Cached fonts are shared by renders running in parallel worker threads, and a FreeType face is not
# safe to use from two threads at once.
_FONT_LOCK = threading.Lock()


def _text_length(font: Any, text: str) -> float:
    with _FONT_LOCK:
        try:
            return float(font.getlength(text))
        except (UnicodeError, ValueError, OSError):
            # Bitmap fallback fonts only know Latin-1.
            return float(font.getlength(text.encode("latin-1", "replace").decode("latin-1")))


def _draw_text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, font: Any, fill: Any) -> None:
    with _FONT_LOCK:
        try:
            draw.text(xy, text, font=font, fill=fill)
        except (UnicodeError, ValueError, OSError):
            draw.text(xy, text.encode("latin-1", "replace").decode("latin-1"), font=font, fill=fill)


def _wrap(text: str, font: Any, max_width: float, max_lines: int) -> list[str]:
    """Greedy wrap that breaks at spaces when it can and anywhere otherwise (CJK has no spaces)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for ch in paragraph:
            candidate = line + ch
            if line and _text_length(font, candidate) > max_width:
                cut = line.rfind(" ")
                if ch != " " and cut > 0:
                    lines.append(line[:cut])
                    line = line[cut + 1 :] + ch
                else:
                    lines.append(line)
                    line = "" if ch == " " else ch
                if len(lines) > max_lines:
                    break
            else:
                line = candidate
        if len(lines) > max_lines:
            break
        lines.append(line.strip())
    lines = [ln for ln in lines if ln]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and _text_length(font, last + "…") > max_width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return lines


def caption_overlay(prompt: str, width: int, height: int) -> tuple[Overlay, int, int] | None:
    text = _clean_text(prompt)
    if not text:
        return None
    size = max(12, height // 20)
    font = _font(size, _needs_cjk(text))
    max_w = width * 0.78
    lines = _wrap(text, font, max_w, max_lines=4)
    if not lines:
        return None
    _report_undrawable(font, "".join(lines))  # only what is drawn: a few lines at most
    line_h = int(size * 1.35)
    pad = max(6, size // 2)
    box_w = int(max(_text_length(font, ln) for ln in lines)) + 2 * pad
    box_h = line_h * len(lines) + 2 * pad
    panel = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
    ImageDraw.Draw(panel).rounded_rectangle((0, 0, box_w - 1, box_h - 1), radius=pad, fill=(0, 0, 0, 120))
    ink = Image.new("RGBA", (box_w, box_h), (255, 255, 255, 0))
    draw = ImageDraw.Draw(ink)
    for i, ln in enumerate(lines):
        x = (box_w - _text_length(font, ln)) / 2
        _draw_text(draw, (x, pad + i * line_h), ln, font, (255, 255, 255, 255))
    panel = Image.alpha_composite(panel, ink)
    x = (width - box_w) // 2
    y = int(height * 0.94) - box_h
    return Overlay(np.asarray(panel)), x, max(0, y)
