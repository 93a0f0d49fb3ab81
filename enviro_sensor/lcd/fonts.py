"""The fonts the LCD draws with, and which characters each one covers.

A fresh machine has no system fonts, so the first choice comes with the
package: Noto Sans Medium (Latin, Greek, Cyrillic, Vietnamese), made from
the variable Noto Sans by ``scripts/lcd_font.py``. When Debian's
``fonts-dejavu-core`` is installed (Raspberry Pi OS has it), DejaVu Sans
fills in what Noto Sans lacks: arrows, symbols, some emoji. Pillow's own
font is the last resort if no font file can be loaded. A character none of
them covers is drawn as a visible replacement (see
``enviro_sensor.lcd.render``).
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import importlib.resources
import io
import logging
from array import array
from collections.abc import Iterable
from pathlib import Path

from PIL import ImageFont

from enviro_sensor.lcd.cmap import FontFormatError, covered_codepoints, has_table

log = logging.getLogger(__name__)

# Package data: Noto Sans at weight 500 with TrueType hints, made by
# scripts/lcd_font.py (which says why the weight, and why hinted).
NOTO_SANS_FILE = "font_files/NotoSans-Medium.ttf"
DEJAVU_SANS_FILES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),  # Debian, Raspberry Pi OS
    Path("/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf"),  # Fedora
)

# Font objects kept at once. Pillow makes one FreeType face per size, and each
# costs memory: loaded from the file, FreeType maps it (about 1 MB of Noto
# Sans resident once its glyphs are used; the page cache holds the file once,
# but RSS counts it again in every mapping) and keeps its own tables (0.4 MB).
# Loaded from bytes it would be worse: Pillow copies the bytes into each face
# (_imagingft.c getfont), so one shared bytes object would still cost 2 MB a
# size. Kept for all 54 sizes of both faces, that was ~150 MB. Four keep the
# readings page's three sizes (lcd.readings_page) from being loaded again on
# every redraw; a message tried about ten sizes (in one or two faces) when
# lcd.render bisected, and missed nearly as often with eight kept as with
# four, so eight only held 7 MB more RSS. A miss costs well under 1 ms on x86
# for the hinted Noto Sans (11 ms for the variable font it replaced), and
# lcd.render starts its search from a guess to try few sizes.
FONT_CACHE_SIZE = 4


class CodepointRanges:
    """Code points as sorted ranges of consecutive ones, for ``in``.

    A font covers runs of code points: Noto Sans's 3,100 are 64 runs, DejaVu
    Sans's 5,900 are 281. As frozensets of ints the two held 0.6 MB for the
    worker's life; as ranges, a few KB.
    """

    __slots__ = ("_ends", "_starts")

    def __init__(self, codepoints: Iterable[int]) -> None:
        self._starts, self._ends = array("I"), array("I")
        for codepoint in sorted(set(codepoints)):
            if self._ends and codepoint == self._ends[-1] + 1:
                self._ends[-1] = codepoint
            else:
                self._starts.append(codepoint)
                self._ends.append(codepoint)

    def __contains__(self, codepoint: object) -> bool:
        if not isinstance(codepoint, int):
            return False
        run = bisect.bisect_right(self._starts, codepoint) - 1
        return run >= 0 and codepoint <= self._ends[run]

    def __len__(self) -> int:
        return sum(end - start + 1 for start, end in zip(self._starts, self._ends, strict=True))


@dataclasses.dataclass(frozen=True, eq=False)
class Face:
    """One font file: its name, the code points it can draw, and where it is (or its bytes)."""

    name: str
    # The file's bytes, kept only for a face with no path (Pillow's own, or
    # a zipped package): with a path they would be 2.8 MB held for nothing.
    data: bytes | None
    coverage: CodepointRanges
    # Whether a pair of characters can be closer or further apart than their
    # two widths (a ``kern`` table): measuring text then needs each pair.
    kerning: bool = False
    # FreeType reads the file itself when it has a path: every size shares
    # the file through the page cache instead of holding its own copy.
    path: Path | None = None

    def covers(self, char: str) -> bool:
        return ord(char) in self.coverage

    def font(self, size: int) -> ImageFont.FreeTypeFont:
        """This face at ``size`` pixels per em, cached."""
        return _font(self, size)


@functools.lru_cache(maxsize=FONT_CACHE_SIZE)
def _font(face: Face, size: int) -> ImageFont.FreeTypeFont:
    # BASIC layout: the same glyph positions on every machine (Raqm's shaping
    # depends on which fribidi/harfbuzz the system has), which keeps the
    # reference images exact.
    assert face.path is not None or face.data is not None  # load_face keeps one of them
    source = str(face.path) if face.path is not None else io.BytesIO(face.data or b"")
    return ImageFont.truetype(source, size, layout_engine=ImageFont.Layout.BASIC)


def load_face(name: str, data: bytes, path: Path | None = None) -> Face:
    """A face from font file bytes (read once from ``path``, if given); raises FontFormatError
    if they are no usable font."""
    coverage = CodepointRanges(covered_codepoints(data))
    return Face(name, data if path is None else None, coverage, has_table(data, b"kern"), path)


def noto_sans() -> Face | None:
    """Noto Sans Medium from the package's own files, or None if they are damaged or missing."""
    resource = importlib.resources.files("enviro_sensor.lcd").joinpath(NOTO_SANS_FILE)
    # A package installed as files has a path; a zipped one only bytes.
    path = resource if isinstance(resource, Path) else None
    try:
        return load_face("Noto Sans", resource.read_bytes(), path=path)
    except (OSError, FontFormatError) as err:
        log.warning("the packaged Noto Sans cannot be read (%s); reinstall enviro-sensor", err)
        return None


def dejavu_sans(paths: Iterable[Path] = DEJAVU_SANS_FILES) -> Face | None:
    """DejaVu Sans from the system's font directory, or None."""
    for path in paths:
        try:
            return load_face("DejaVu Sans", path.read_bytes(), path=path)
        except (OSError, FontFormatError):
            continue
    return None


def pillow_default() -> Face:
    """Pillow's built-in scalable font (Aileron; basic Latin only)."""
    font = ImageFont.load_default(size=10)
    assert isinstance(font, ImageFont.FreeTypeFont)  # with FreeType, which Pillow's wheels have
    return load_face("Aileron", font.font_bytes)


@functools.cache
def default_faces() -> tuple[Face, ...]:
    """The fonts to draw with, first choice first."""
    faces = [face for face in (noto_sans(), dejavu_sans()) if face is not None]
    if not faces:
        faces = [pillow_default()]
    log.info("LCD fonts: %s", ", ".join(face.name for face in faces))
    return tuple(faces)
