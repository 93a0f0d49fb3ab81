"""Text to a 160x80 image that fits the Enviro+ LCD, and what was drawn.

Pure: no hardware, same text in, same pixels out. The text is cleaned and
unknown characters replaced (``enviro_sensor.lcd.text``), then laid out at the largest font
size whose wrapped lines fit the screen. Past what fits at the smallest size
a person can still read on a 0.96" panel, the last line ends in an ellipsis.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable, Sequence

from PIL import Image, ImageDraw, ImageFont

from enviro_sensor.lcd import text as texts
from enviro_sensor.lcd.fonts import Face, default_faces

WIDTH, HEIGHT = 160, 80
# Pixels kept clear at each edge: the panel's bezel hides the outermost ones.
MARGIN = 2
# Font sizes in pixels per em. 11 px puts capitals about 8 px (1.1 mm) tall
# on this panel: the smallest that reads at arm's length.
MIN_SIZE = 11
MAX_SIZE = 64
ELLIPSIS = "…"
# Characters that reach furthest above and below the baseline in the scripts
# the fonts cover; their extent is the height of a line.
_LINE_EXTENT_SAMPLE = "ÅÉÎÖŨỗ|ЙjgpqyÇ"

Color = tuple[int, int, int]

# FreeType faces are not safe to use from two threads at once, and the font
# objects are cached and shared: one rendering at a time.
_freetype = threading.Lock()


@dataclasses.dataclass(frozen=True)
class Style:
    """Colours of the text and the screen behind it."""

    color: Color = (255, 255, 255)
    background: Color = (0, 0, 0)


@dataclasses.dataclass(frozen=True)
class Rendering:
    """The image for the panel and the facts about what it shows."""

    image: Image.Image
    lines: tuple[str, ...]
    font_size: int
    truncated: bool
    replaced: int
    font: str

    def summary(self) -> dict:
        """What was drawn, for the API's answer."""
        return {
            "lines": list(self.lines),
            "font": self.font,
            "font_size": self.font_size,
            "truncated": self.truncated,
            "replaced_characters": self.replaced,
        }


class _Typesetter:
    """Measures and draws text at one size, each character in the first face that has it."""

    def __init__(self, faces: Sequence[Face], size: int) -> None:
        self.size = size
        self.faces = faces
        _, top, _, bottom = self._font(0).getbbox(_LINE_EXTENT_SAMPLE, anchor="ls")
        # Whole pixels: with BASIC layout Pillow's boxes are integers anyway.
        self.ascent = int(-top)
        self.line_height = int(bottom - top + 1)
        # The box stands in for U+FFFD when no face has that glyph.
        self.box = next((i for i, face in enumerate(faces) if face.covers(texts.REPLACEMENT)), None)
        self.box_width = max(3, round(size * 0.6))
        self.ellipsis = ELLIPSIS if self._face_of(ELLIPSIS) is not None else "..."
        # Lengths learned so far, per face: of single characters and of
        # pairs (see _length).
        self._lengths: list[dict[str, float]] = [{} for _ in faces]

    def _font(self, face: int) -> ImageFont.FreeTypeFont:
        # Asked for when a character needs it: a fallback face that no
        # character uses costs no font object (see lcd.fonts.FONT_CACHE_SIZE).
        return self.faces[face].font(self.size)

    def _face_of(self, char: str) -> int | None:
        if char == texts.REPLACEMENT:
            return self.box
        return next((i for i, face in enumerate(self.faces) if face.covers(char)), 0)

    def _segments(self, line: str) -> list[tuple[int | None, str]]:
        segments: list[tuple[int | None, str]] = []
        for char in line:
            face = self._face_of(char)
            if segments and segments[-1][0] == face:
                segments[-1] = (face, segments[-1][1] + char)
            else:
                segments.append((face, char))
        return segments

    def width(self, line: str) -> int:
        return sum(self._segment_width(face, run) for face, run in self._segments(line))

    def _segment_width(self, face: int | None, run: str) -> int:
        if face is None:
            return (self.box_width + 1) * len(run)
        return round(self._length(face, run))

    def _length(self, face: int, run: str) -> float:
        """What ``getlength(run)`` answers, from what each character and each pair add.

        Laying a message out measures the same characters many times, and
        each measurement loads every glyph again (running its hinting
        instructions: about 7 µs each). Pillow's basic layout is the sum of
        the characters' advances plus, for a face with a kern table, each
        neighbouring pair's kerning; these are multiples of 1/64 px, so the
        sum is exact.
        """
        total = sum(self._learned(face, char) for char in run)
        if self.faces[face].kerning:
            total += sum(
                self._learned(face, a + b) - self._learned(face, a) - self._learned(face, b)
                for a, b in itertools.pairwise(run)
            )
        return total

    def _learned(self, face: int, text: str) -> float:
        """``getlength(text)`` in ``face``, asked of Pillow once per typesetter."""
        known = self._lengths[face]
        if text not in known:
            known[text] = self._font(face).getlength(text)
        return known[text]

    def draw(self, draw: ImageDraw.ImageDraw, x: int, baseline: int, line: str, color: Color) -> None:
        for face, run in self._segments(line):
            if face is None:
                for i in range(len(run)):
                    left = x + i * (self.box_width + 1)
                    # A hollow box the height of a capital, like a font's .notdef.
                    cap = round(self.size * 0.7)
                    draw.rectangle(
                        (left, baseline - cap, left + self.box_width - 1, baseline - 1), outline=color
                    )
            else:
                draw.text((x, baseline), run, font=self._font(face), fill=color, anchor="ls")
            x += self._segment_width(face, run)

    def wrap(
        self, paragraphs: Sequence[str], max_width: int, max_lines: int, break_words: bool = True
    ) -> list[str] | None:
        """Greedy word wrap; stops once more than ``max_lines`` lines are made.

        A word wider than the line is broken, or, without ``break_words``,
        makes the answer None.
        """
        lines: list[str] = []
        for paragraph in paragraphs:
            line = ""
            for word in paragraph.split(" "):
                if not word:
                    continue
                candidate = f"{line} {word}" if line else word
                if self.width(candidate) <= max_width:
                    line = candidate
                    continue
                if line:
                    lines.append(line)
                if not break_words and self.width(word) > max_width:
                    return None
                pieces = self._break_word(word, max_width, max_lines + 1 - len(lines))
                lines.extend(pieces[:-1])
                line = pieces[-1]
                if len(lines) > max_lines:
                    return lines
            lines.append(line)
            if len(lines) > max_lines:
                return lines
        return lines

    def _break_word(self, word: str, max_width: int, limit: int) -> list[str]:
        """``word`` in pieces that each fit, broken between characters as a reader sees them.

        Stops after ``limit`` pieces: the rest cannot be shown at this size.
        """
        pieces: list[str] = []
        piece = ""
        for cluster in texts.clusters(word):
            if piece and self.width(piece + cluster) > max_width:
                # Break after a hyphen or slash when the piece has one, so
                # "well-known" and URLs part where a reader expects.
                cut = max(piece.rfind("-"), piece.rfind("/")) + 1
                if not 0 < cut < len(piece):
                    cut = len(piece)
                pieces.append(piece[:cut])
                piece = piece[cut:]
                if len(pieces) >= limit:
                    return [*pieces, piece + cluster]
            piece += cluster
        pieces.append(piece)
        return pieces

    def end_with_ellipsis(self, line: str, max_width: int) -> str:
        """``line`` shortened as needed so that it ends in an ellipsis and fits."""
        kept = list(texts.clusters(line))
        while kept and self.width("".join(kept).rstrip() + self.ellipsis) > max_width:
            kept.pop()
        return "".join(kept).rstrip() + self.ellipsis


def _largest_fit(
    faces: Sequence[Face], paragraphs: Sequence[str], max_width: int, max_height: int
) -> tuple[_Typesetter | None, list[str]]:
    """The largest size at which the wrapped text fits.

    Whole words first: a word is broken only when no size keeps them whole
    ("192.168.1.20:8000" on one line at 18 px reads better than split at 20).
    Fit shrinks as the size grows (wider words, taller lines), so the search
    starts from a guess and gallops, then bisects (``_largest_size``); every
    answer is a size whose layout was checked to fit. Each size tried is a
    font object (under 1 ms for the packaged Noto Sans; more for a font
    FreeType has to auto-hint): the guess saves most.

    Text that does not fit at the smallest size even with words broken fits
    at none (a layout that keeps words whole is also one with words broken),
    so that is looked at first: a long message costs one layout.
    """
    smallest = _Typesetter(faces, MIN_SIZE)
    if not _fits(smallest, paragraphs, max_width, max_height, True):
        return None, []
    guess = _size_guess(smallest, paragraphs, max_width, max_height)
    for break_words in (False, True):
        if not break_words and not _fits(smallest, paragraphs, max_width, max_height, False):
            continue  # a word too wide even at the smallest size: no size keeps words whole
        # Each size's layout, as the search tries it.
        layouts: dict[int, tuple[_Typesetter, list[str] | None]] = {}

        def fits(size: int, layouts: dict = layouts, break_words: bool = break_words) -> bool:
            setter = smallest if size == MIN_SIZE else _Typesetter(faces, size)
            layouts[size] = (setter, _fits(setter, paragraphs, max_width, max_height, break_words))
            return layouts[size][1] is not None

        size = _largest_size(fits, guess)
        if size is not None:
            setter, lines = layouts[size]
            assert lines is not None  # it fitted
            return setter, lines
    return None, []


def _size_guess(smallest: _Typesetter, paragraphs: Sequence[str], max_width: int, max_height: int) -> int:
    """Where the search starts: the size at which the text's lines, scaled from the smallest size, would fill the height.

    Only a guess (lines are not filled to the last pixel, and hinting does
    not scale widths exactly); the search checks every size it answers.
    """
    widths = [smallest.width(paragraph) for paragraph in paragraphs]

    def would_fit(size: int) -> bool:
        scale = size / MIN_SIZE
        lines = sum(max(1, -(-round(width * scale) // max_width)) for width in widths)
        return lines * round(smallest.line_height * scale) <= max_height

    low, high = MIN_SIZE, MAX_SIZE
    while low < high:
        middle = (low + high + 1) // 2
        if would_fit(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _largest_size(fits: Callable[[int], bool], guess: int) -> int | None:
    """The largest size from MIN_SIZE to MAX_SIZE for which ``fits`` holds, asking it near ``guess`` first.

    ``fits`` holds up to some size and not above it. From the guess the
    search gallops (steps of 1, 2, 4, ...) until it holds a size that fits
    and one that does not, then bisects between them.
    """
    fitting, failing = MIN_SIZE - 1, MAX_SIZE + 1  # as if known: below and above the range
    step = 1
    if fits(guess):
        fitting = guess
        while fitting + step < failing:
            if not fits(fitting + step):
                failing = fitting + step
                break
            fitting += step
            step *= 2
    else:
        failing = guess
        while failing - step > fitting:
            if fits(failing - step):
                fitting = failing - step
                break
            failing -= step
            step *= 2
    while failing - fitting > 1:
        middle = (fitting + failing) // 2
        if fits(middle):
            fitting = middle
        else:
            failing = middle
    return fitting if fitting >= MIN_SIZE else None


def _fits(
    setter: _Typesetter, paragraphs: Sequence[str], max_width: int, max_height: int, break_words: bool
) -> list[str] | None:
    """The wrapped lines at ``setter``'s size, or None when they do not fit."""
    max_lines = max_height // setter.line_height
    lines = setter.wrap(paragraphs, max_width, max_lines, break_words) if max_lines else None
    return lines if lines is not None and len(lines) <= max_lines else None


def render(
    message: str,
    style: Style = Style(),
    faces: Sequence[Face] | None = None,
    size: tuple[int, int] = (WIDTH, HEIGHT),
) -> Rendering:
    """Lay ``message`` out to fit an image of ``size`` and draw it."""
    faces = tuple(faces or default_faces())
    width, height = size
    max_width, max_height = width - 2 * MARGIN, height - 2 * MARGIN

    text, replaced = texts.substitute(texts.clean(message), lambda c: any(f.covers(c) for f in faces))
    paragraphs = [p.strip(" ") for p in text.strip().split("\n")]

    with _freetype:
        setter, lines = _largest_fit(faces, paragraphs, max_width, max_height)
        truncated = setter is None
        if setter is None:
            # Nothing fits even at the smallest size: show what does, then "…".
            setter = _Typesetter(faces, MIN_SIZE)
            max_lines = max(1, max_height // setter.line_height)
            lines = (setter.wrap(paragraphs, max_width, max_lines) or [""])[:max_lines]
            lines[-1] = setter.end_with_ellipsis(lines[-1], max_width)

        image = Image.new("RGB", size, style.background)
        draw = ImageDraw.Draw(image)
        top = MARGIN + (max_height - len(lines) * setter.line_height) // 2
        for number, line in enumerate(lines):
            x = (width - setter.width(line)) // 2
            setter.draw(draw, x, top + number * setter.line_height + setter.ascent, line, style.color)

    return Rendering(image, tuple(lines), setter.size, truncated, replaced, faces[0].name)
