"""One readings page as a 160x80 image: the quantity, its value and unit, a chart.

Pure, like ``enviro_sensor.lcd.render``: the same content gives the same pixels. The
heading names the quantity and where the page stands among the others; the
value is as large as fits beside its unit; the chart below draws the recent
values, newest at the right, scaled to their own range (never narrower than
the quantity's ``min_span``, so noise in the last digit stays flat). A value
that is not current is drawn grey with the reason in amber; a missing one is
"-", never a 0.

A page is drawn whenever its sensor has a new reading, so the drawing is
split by how often each part changes: the text (heading, value, unit, note)
is kept for the next frame while it stays the same, and only the chart is
drawn anew. ``page_look`` names everything the pixels depend on, so a
reading that would draw the same pixels can be skipped without drawing.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Hashable, Sequence

from PIL import Image, ImageDraw

from enviro_sensor.lcd.fonts import Face, default_faces
from enviro_sensor.lcd.pages import CHART_POINTS, Quantity
from enviro_sensor.lcd.render import HEIGHT, MARGIN, WIDTH, _freetype, _Typesetter

BACKGROUND = (0, 0, 0)
TITLE_COLOR = (210, 210, 210)
QUIET_COLOR = (130, 130, 130)  # the page's position, the unit
VALUE_COLOR = (255, 255, 255)
NOT_CURRENT_COLOR = (140, 140, 140)
NOTE_COLOR = (255, 170, 0)
CHART_FILL, CHART_LINE = (0, 80, 100), (0, 200, 230)
STALE_FILL, STALE_LINE = (50, 50, 50), (140, 140, 140)
AXIS_COLOR = (60, 60, 60)

HEADING_SIZE = 13
SMALL_SIZE = 11  # the smallest that reads at arm's length (lcd.render.MIN_SIZE)
VALUE_SIZES = range(26, 13, -1)
HEADING_BASELINE = 13
VALUE_BASELINE = 40
# The chart's rows, top and bottom inclusive.
CHART_TOP, CHART_BOTTOM = 46, HEIGHT - 1 - MARGIN
_CHART_HEIGHT = CHART_BOTTOM - CHART_TOP
MISSING = "-"


@dataclasses.dataclass(frozen=True)
class PageContent:
    """Everything one page shows."""

    title: str
    quantity: Quantity
    #: The latest value in JSON units, or None when there is none to show.
    value: float | None
    #: Recent values in JSON units, oldest first.
    recent: tuple[float, ...]
    #: Why the value is not current ("stale", "paused", "failing"...), or None.
    note: str | None
    #: This page's number (from 1) and how many there are.
    position: tuple[int, int]


def format_value(value: float | None, quantity: Quantity) -> str:
    """``value`` in the quantity's unit and decimals; "-" for None."""
    if value is None:
        return MISSING
    text = f"{value * quantity.scale:.{quantity.decimals}f}"
    # -0.0 rounds to "-0.0": no reader wants the sign of a zero.
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def chart_rows(values: Sequence[float], min_span: float, height: int) -> list[int]:
    """Each value's height in the chart, 0 (lowest) to ``height - 1`` (highest)."""
    if not values:
        return []
    low, high = min(values), max(values)
    if high - low < min_span:
        middle = (low + high) / 2
        low, high = middle - min_span / 2, middle + min_span / 2
    return [round((value - low) / (high - low) * (height - 1)) for value in values]


def page_look(content: PageContent) -> Hashable:
    """What ``render_page`` draws ``content`` from: equal looks, equal pixels.

    The value as written (not the float), and the chart as pixel rows (not
    the values), so a reading that changes neither is seen to change nothing.
    """
    return (_text_of(content), content.note is None, tuple(_chart_rows(content)))


def render_page(content: PageContent, faces: Sequence[Face] | None = None) -> Image.Image:
    """Draw ``content`` on a screen-sized image."""
    image = _text_layer(_text_of(content), tuple(faces or default_faces())).copy()
    _draw_chart(image, _chart_rows(content), content.note is None)
    return image


@dataclasses.dataclass(frozen=True)
class _PageText:
    """The words on a page, as written: all the text layer depends on."""

    title: str
    where: str
    value: str
    unit: str
    note: str | None


def _text_of(content: PageContent) -> _PageText:
    number, count = content.position
    unit = (content.quantity.unit or "") if content.value is not None else ""
    return _PageText(
        content.title, f"{number}/{count}", format_value(content.value, content.quantity), unit, content.note
    )


# A page's text changes far less often than its chart (a new last digit, a
# note): the last few text layers are kept, enough for a value flickering
# between two digits on a page or two. Each is copied before a chart is drawn.
@functools.lru_cache(maxsize=4)
def _text_layer(text: _PageText, faces: tuple[Face, ...]) -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    right = WIDTH - MARGIN
    current = text.note is None
    with _freetype:
        heading = _typesetter(faces, HEADING_SIZE)
        small = _typesetter(faces, SMALL_SIZE)
        where_width = small.width(text.where)
        small.draw(draw, right - where_width, HEADING_BASELINE, text.where, QUIET_COLOR)
        title = text.title
        if heading.width(title) > right - MARGIN - where_width - 4:
            title = heading.end_with_ellipsis(title, right - MARGIN - where_width - 4)
        heading.draw(draw, MARGIN, HEADING_BASELINE, title, TITLE_COLOR)

        room = right - MARGIN
        if text.note is not None:
            note_width = small.width(text.note)
            small.draw(draw, right - note_width, VALUE_BASELINE, text.note, NOTE_COLOR)
            room -= note_width + 4
        unit_width = heading.width(text.unit) + 3 if text.unit else 0
        for size in VALUE_SIZES:
            big = _typesetter(faces, size)
            if big.width(text.value) + unit_width <= room:
                break
        big.draw(draw, MARGIN, VALUE_BASELINE, text.value, VALUE_COLOR if current else NOT_CURRENT_COLOR)
        if text.unit:
            heading.draw(draw, MARGIN + big.width(text.value) + 3, VALUE_BASELINE, text.unit, QUIET_COLOR)
    # The chart's floor, so an empty chart still shows where values will come.
    draw.line((MARGIN, CHART_BOTTOM, WIDTH - MARGIN - 1, CHART_BOTTOM), fill=AXIS_COLOR)
    return image


# A typesetter measures its line height from the fonts when made: made once
# per size, not once per frame (the value's size is searched for each time).
@functools.lru_cache(maxsize=len(VALUE_SIZES) + 2)
def _typesetter(faces: tuple[Face, ...], size: int) -> _Typesetter:
    return _Typesetter(faces, size)


def _chart_rows(content: PageContent) -> list[int]:
    """The chart's rows of the recent values that fit on it."""
    quantity = content.quantity
    scaled = [value * quantity.scale for value in content.recent[-CHART_POINTS:]]
    return chart_rows(scaled, quantity.min_span, _CHART_HEIGHT)


def _draw_chart(image: Image.Image, rows: Sequence[int], current: bool) -> None:
    # The values' rows stand above the floor: the lowest still shows as a line.
    fill, line = (CHART_FILL, CHART_LINE) if current else (STALE_FILL, STALE_LINE)
    # One column per value, the newest at the right: the value's pixel on
    # top of a fill down to the floor. Neighbouring columns at the same row
    # are one box of fill and one run of line pixels (this runs on every
    # reading, and a steady quantity is long runs).
    x = WIDTH - MARGIN - len(rows)
    for row, run in itertools.groupby(rows):
        width = len(list(run))
        top = CHART_BOTTOM - 1 - row
        if top < CHART_BOTTOM - 1:
            image.paste(fill, (x, top + 1, x + width, CHART_BOTTOM))
        image.paste(line, (x, top, x + width, top + 1))
        x += width
