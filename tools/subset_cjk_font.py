"""Build the CJK caption font the preview engine ships (seedgate/engines/fonts/).

The source is Noto Sans CJK SC Regular (SIL Open Font License 1.1, no reserved font names), e.g. Debian's
`fonts-noto-cjk`. The full face is 16 MB; prompts use a small common set, so the subset keeps:
  - ASCII, Latin-1 and Latin Extended-A, general punctuation, CJK symbols and punctuation, kana,
    half- and full-width forms;
  - every hanzi of GB 2312 (6,763: simplified Chinese), Big5 level 1 (5,401: common traditional Chinese, most
    Japanese kanji too) and the 2,350 Hangul syllables of KS X 1001.
Hinting and layout features are dropped (the preview draws horizontal text with FreeType's own hinting).

Usage (needs fontTools, which the package itself does not):
    python tools/subset_cjk_font.py [/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc]
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

OUT = Path(__file__).resolve().parent.parent / "seedgate" / "engines" / "fonts" / "NotoSansCJKsc-Subset.otf"


def _double_byte(codec: str, rows: range, cols: list[int]) -> set[str]:
    found = set()
    for row in rows:
        for col in cols:
            with contextlib.suppress(UnicodeDecodeError):
                found.add(bytes([row, col]).decode(codec))
    return found


def characters() -> str:
    ranges = [(0x20, 0x7F), (0xA0, 0x180), (0x2000, 0x2070), (0x3000, 0x3100), (0xFF00, 0xFFF0)]
    chars = {chr(c) for lo, hi in ranges for c in range(lo, hi)}
    high = list(range(0xA1, 0xFF))
    chars |= _double_byte("gb2312", range(0xA1, 0xF8), high)
    chars |= _double_byte("big5", range(0xA4, 0xC7), list(range(0x40, 0x7F)) + high)
    chars |= {ch for ch in _double_byte("euc_kr", range(0xB0, 0xC9), high) if 0xAC00 <= ord(ch) <= 0xD7A3}
    return "".join(sorted(chars))


def main(source: str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc") -> None:
    if source.endswith((".ttc", ".otc")):
        font = next(f for f in TTCollection(source).fonts if f["name"].getDebugName(4) == "Noto Sans CJK SC")
    else:
        font = TTFont(source)
    options = subset.Options()
    options.hinting = False
    options.layout_features = []
    options.name_IDs = ["*"]  # keep the copyright and licence records
    options.notdef_outline = True  # a missing character shows as a box, not as nothing
    options.drop_tables += ["VORG", "vhea", "vmtx", "DSIG"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters())
    subsetter.subset(font)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    font.save(OUT)
    print(f"{OUT}: {len(font.getGlyphOrder())} glyphs, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main(*sys.argv[1:])
