"""Makes the LCD's font: Noto Sans at weight 500, as a static font hinted by ttfautohint.

    .venv/bin/python scripts/lcd_font.py          # writes the packaged font
    .venv/bin/python scripts/lcd_font.py --check  # exit 1 if it differs from what this makes

The source is the variable Noto Sans of the pinned ``fontpkg-noto-sans``
(requirements-dev.txt). Why not draw with it directly: it carries no hinting
instructions, so FreeType runs its auto-hinter, which analyses the whole
font (every glyph's script) on the first glyph of each font object, about
11 ms on x86, and a message tries several sizes, each its own font object.
The same hints made once by ttfautohint (FreeType's auto-hinter as
TrueType instructions) cost FreeType under 1 ms. Fixing the weight
(fontTools' instancer) is what lets ttfautohint hint it, and drops the
variation tables the LCD never used.

Noto Sans is under the SIL Open Font License 1.1, which allows modified
versions; its licence is shipped beside the font.
"""

from __future__ import annotations

import argparse
import importlib.resources
import io
import sys
from pathlib import Path

import ttfautohint
from fontTools.ttLib import TTFont
from fontTools.varLib import instancer

ROOT = Path(__file__).resolve().parent.parent
SOURCE_PACKAGE = "fontpkg_noto_sans"
SOURCE_FILE = "files/NotoSans[wdth,wght].ttf"
TARGET_DIR = ROOT / "enviro_sensor" / "lcd" / "font_files"
TARGET = TARGET_DIR / "NotoSans-Medium.ttf"
LICENCE = TARGET_DIR / "OFL.txt"
# A medium weight keeps thin strokes from fading on a 0.96" panel after
# RGB565 quantisation and anti-aliasing; the normal width reads best.
AXES = {"wght": 500, "wdth": 100}


def make_font() -> bytes:
    """The hinted static font's bytes, the same on every run."""
    source = importlib.resources.files(SOURCE_PACKAGE).joinpath(SOURCE_FILE).read_bytes()
    # No new timestamp in the head table: the same input makes the same file.
    variable = TTFont(io.BytesIO(source), recalcTimestamp=False)
    static = instancer.instantiateVariableFont(variable, AXES, updateFontNames=True)
    unhinted = io.BytesIO()
    static.save(unhinted)
    # no_info: no ttfautohint version in the name table, so the file does not
    # change with the tool's version unless its hints do.
    hinted = TTFont(io.BytesIO(ttfautohint.ttfautohint(in_buffer=unhinted.getvalue(), no_info=True)))
    # ttfautohint stamps the time it ran; the source's own date is kept.
    hinted.recalcTimestamp = False
    hinted["head"].modified = variable["head"].modified
    result = io.BytesIO()
    hinted.save(result)
    return result.getvalue()


def licence() -> str:
    return importlib.resources.files(SOURCE_PACKAGE).joinpath("LICENSE").read_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the packaged font instead of writing"
    )
    args = parser.parse_args()
    font, text = make_font(), licence()
    if args.check:
        same = TARGET.read_bytes() == font and LICENCE.read_text() == text
        print(
            f"{TARGET.relative_to(ROOT)}: {'up to date' if same else 'differs from what this script makes'}"
        )
        return 0 if same else 1
    TARGET_DIR.mkdir(exist_ok=True)
    TARGET.write_bytes(font)
    LICENCE.write_text(text)
    print(f"wrote {TARGET.relative_to(ROOT)} ({len(font)} bytes) and {LICENCE.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
