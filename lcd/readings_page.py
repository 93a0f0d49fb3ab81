"""One readings page as a 160x80 image: the quantity, its value and unit, a chart.

Pure, like ``lcd.render``: the same content gives the same pixels. The
heading names the quantity and where the page stands among the others; the
value is as large as fits beside its unit; the chart below draws the recent
values, newest at the right, scaled to their own range (never narrower than
the quantity's ``min_span``, so noise in the last digit stays flat). A value
that is not current is drawn grey with the reason in amber; a missing one is
"-", never a 0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from PIL import Image, ImageDraw

from lcd.fonts import Face, default_faces
from lcd.pages import CHART_POINTS, Quantity
from lcd.render import HEIGHT, MARGIN, WIDTH, _freetype, _Typesetter

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


def render_page(content: PageContent, faces: Sequence[Face] | None = None) -> Image.Image:
    """Draw ``content`` on a screen-sized image."""
    faces = tuple(faces or default_faces())
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    right = WIDTH - MARGIN
    current = content.note is None
    with _freetype:
        heading = _Typesetter(faces, HEADING_SIZE)
        small = _Typesetter(faces, SMALL_SIZE)
        number, count = content.position
        where = f"{number}/{count}"
        where_width = small.width(where)
        small.draw(draw, right - where_width, HEADING_BASELINE, where, QUIET_COLOR)
        title = content.title
        if heading.width(title) > right - MARGIN - where_width - 4:
            title = heading.end_with_ellipsis(title, right - MARGIN - where_width - 4)
        heading.draw(draw, MARGIN, HEADING_BASELINE, title, TITLE_COLOR)

        room = right - MARGIN
        if content.note is not None:
            note_width = small.width(content.note)
            small.draw(draw, right - note_width, VALUE_BASELINE, content.note, NOTE_COLOR)
            room -= note_width + 4
        value = format_value(content.value, content.quantity)
        unit = content.quantity.unit if content.value is not None else ""
        unit_width = heading.width(unit) + 3 if unit else 0
        for size in VALUE_SIZES:
            big = _Typesetter(faces, size)
            if big.width(value) + unit_width <= room:
                break
        big.draw(draw, MARGIN, VALUE_BASELINE, value, VALUE_COLOR if current else NOT_CURRENT_COLOR)
        if unit:
            heading.draw(draw, MARGIN + big.width(value) + 3, VALUE_BASELINE, unit, QUIET_COLOR)

    _draw_chart(draw, content.recent[-CHART_POINTS:], content.quantity, current)
    return image


def _draw_chart(
    draw: ImageDraw.ImageDraw, values: Sequence[float], quantity: Quantity, current: bool
) -> None:
    # The values' rows stand above the floor: the lowest still shows as a line.
    height = CHART_BOTTOM - CHART_TOP
    fill, line = (CHART_FILL, CHART_LINE) if current else (STALE_FILL, STALE_LINE)
    # The chart's floor, so an empty chart still shows where values will come.
    draw.line((MARGIN, CHART_BOTTOM, WIDTH - MARGIN - 1, CHART_BOTTOM), fill=AXIS_COLOR)
    scaled = [value * quantity.scale for value in values]
    rows = chart_rows(scaled, quantity.min_span, height)
    right = WIDTH - MARGIN - 1
    for offset, row in enumerate(reversed(rows)):
        x = right - offset
        top = CHART_BOTTOM - 1 - row
        if top < CHART_BOTTOM - 1:
            draw.line((x, top + 1, x, CHART_BOTTOM - 1), fill=fill)
        draw.point((x, top), fill=line)
