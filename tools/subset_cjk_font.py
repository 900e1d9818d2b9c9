"""Make the CJK font shipped in static/fonts/ from WenQuanYi Micro Hei (a dev tool).

The label sheet needs a Chinese font on machines that have none installed. This script
subsets Debian's ``fonts-wqy-microhei`` (Apache-2.0) to ASCII, Latin-1, general and CJK
punctuation, full-width forms, CJK unit symbols and every character of GB 2312 (its 6,763
hanzi included), without hinting, and writes a plain TrueType file.

Run it with fontTools, which is a development tool here and never a runtime dependency::

    .venv/bin/pip install fonttools
    .venv/bin/python tools/subset_cjk_font.py \
        /usr/share/fonts/truetype/wqy/wqy-microhei.ttc static/fonts/wqy-microhei-gb2312.ttf
"""

from __future__ import annotations

import sys
from pathlib import Path


def gb2312_characters() -> set[str]:
    """Every character GB 2312 encodes (symbols rows 1–9 and hanzi rows 16–87)."""
    characters = set()
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                characters.add(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return characters


def wanted_codepoints() -> set[int]:
    """The code points the shipped font must cover."""
    ranges = [
        (0x20, 0x7E),  # ASCII
        (0xA0, 0xFF),  # Latin-1 (°, ×, ·)
        (0x2010, 0x203A),  # general punctuation (— … ‘ ’ “ ”)
        (0x2100, 0x2122),  # letterlike symbols (℃ № ™)
        (0x3000, 0x303F),  # CJK symbols and punctuation
        (0x3380, 0x33FF),  # CJK unit symbols (㎖ ㎏)
        (0xFF01, 0xFF5E),  # full-width forms
    ]
    points = {cp for first, last in ranges for cp in range(first, last + 1)}
    points |= {ord(ch) for ch in gb2312_characters()}
    return points


def main(source: str, target: str) -> None:
    """Subset face 0 of *source* (a .ttc or .ttf) into the TrueType file *target*."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(source, fontNumber=0)
    options = subset.Options()
    options.hinting = False
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.layout_features = ["*"]
    subsetter = subset.Subsetter(options)
    covered = set(font.getBestCmap())
    wanted = wanted_codepoints()
    subsetter.populate(unicodes=wanted & covered)
    subsetter.subset(font)
    font.save(target)
    gb = {ord(ch) for ch in gb2312_characters()}
    missing = sorted(gb - covered)
    print(
        f"wrote {target}: {len(font.getBestCmap())} characters, "
        f"{Path(target).stat().st_size / 1e6:.2f} MB; "
        f"GB 2312 characters the source lacks: {''.join(map(chr, missing)) or 'none'}"
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: subset_cjk_font.py SOURCE.ttc TARGET.ttf")
    main(sys.argv[1], sys.argv[2])
