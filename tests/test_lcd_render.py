"""The renderer: text in, a 160x80 image and the facts about it out.

The reference images in tests/lcd_reference/ are what the renderer must
reproduce exactly. After an intended change to the drawing, regenerate them
with ``UPDATE_LCD_REFERENCE=1 .venv/bin/python -m pytest tests/test_lcd_render.py``
and look at them before committing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops

from enviro_sensor.lcd import fonts
from enviro_sensor.lcd.cmap import FontFormatError, covered_codepoints
from enviro_sensor.lcd.render import (
    HEIGHT,
    MARGIN,
    MAX_SIZE,
    MIN_SIZE,
    WIDTH,
    Style,
    _largest_size,
    _Typesetter,
    render,
)
from enviro_sensor.lcd.text import REPLACEMENT, clean, clusters, substitute, visible
from tests.lcd_support import ink, message_kinds

REFERENCE = Path(__file__).parent / "lcd_reference"
# The packaged font alone, so the references do not depend on system fonts.
NOTO = (fonts.noto_sans(),)
MESSAGE_KINDS = message_kinds(max_size=300)

REFERENCE_MESSAGES = {
    "short": "Hello, world!",
    "long": (
        "The kitchen sensor says the air is fine, the window is open and the plants "
        "were watered this morning. Nobody needs to do anything until the evening, "
        "when the bins go out and the heating comes back on for the night."
    ),
    "mixed": "Grüße, Ελλάδα, Привет, 中文 😀 👍🏽 🇬🇧",
}


@pytest.mark.parametrize("name", sorted(REFERENCE_MESSAGES))
def test_reproduces_the_reference_image(name):
    image = render(REFERENCE_MESSAGES[name], faces=NOTO).image
    path = REFERENCE / f"{name}.png"
    if os.environ.get("UPDATE_LCD_REFERENCE"):
        REFERENCE.mkdir(exist_ok=True)
        image.save(path)
    expected = Image.open(path).convert("RGB")
    assert image.size == expected.size
    assert ImageChops.difference(image, expected).getbbox() is None, (
        f"{path.name} differs; if the change is intended, regenerate with UPDATE_LCD_REFERENCE=1"
    )


def test_short_text_is_one_large_centred_line():
    result = render("Hello", faces=NOTO)
    assert result.lines == ("Hello",)
    assert result.font_size >= 40
    assert not result.truncated
    left, top, right, bottom = ink(result.image)
    # Centred within a pixel or two either way (glyph side bearings differ).
    assert abs(left - (WIDTH - right)) <= 3
    assert abs(top - (HEIGHT - bottom)) <= 6


def test_shorter_text_gets_a_larger_font():
    sizes = [
        render(text, faces=NOTO).font_size for text in ("Hi", "Hello there", "Hello there, how are you?")
    ]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] > sizes[-1]


def test_words_wrap_onto_lines_without_losing_any():
    message = "Meeting room two is free until three"
    result = render(message, faces=NOTO)
    assert len(result.lines) > 1
    assert " ".join(result.lines) == message
    assert not result.truncated


def test_every_drawn_pixel_stays_inside_the_margins():
    for message in ("W" * 40, "Hello", REFERENCE_MESSAGES["long"], "gjpqy ÅÉÎ"):
        box = ink(render(message, faces=NOTO).image)
        assert box is not None
        left, top, right, bottom = box
        assert left >= MARGIN - 1 and right <= WIDTH - MARGIN + 1, (message, box)
        assert top >= 0 and bottom <= HEIGHT, (message, box)


def test_a_long_word_is_broken_across_lines():
    word = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 2
    result = render(word, faces=NOTO)
    assert len(result.lines) > 1
    assert "".join(result.lines) == word
    assert not result.truncated


def test_a_long_word_breaks_after_its_hyphen():
    result = render("state-of-the-art-and-well-maintained-environmental-sensors", faces=NOTO)
    assert all(line.endswith("-") for line in result.lines[:-1]), result.lines


def test_text_too_long_for_the_smallest_size_ends_in_an_ellipsis():
    message = " ".join(f"word{n}" for n in range(300))
    result = render(message, faces=NOTO)
    assert result.truncated
    assert result.font_size == MIN_SIZE
    assert result.lines[-1].endswith("…")
    shown = " ".join(result.lines)[:-1].split()
    assert shown[:-1] == message.split()[: len(shown) - 1]


def test_line_breaks_are_kept_and_control_characters_removed():
    result = render("first\r\nsec\x00ond\x07\nthird\tword", faces=NOTO)
    assert result.lines == ("first", "second", "third word")


def test_a_character_no_font_has_is_shown_as_a_visible_replacement():
    result = render("中", faces=NOTO)
    assert result.lines == (REPLACEMENT,)
    assert result.replaced == 1
    assert ink(result.image) is not None  # not a blank screen


def test_without_a_replacement_glyph_a_box_is_drawn():
    aileron = fonts.pillow_default()
    assert not aileron.covers(REPLACEMENT)
    result = render("中", faces=(aileron,))
    assert result.replaced == 1
    left, top, right, bottom = ink(result.image)
    assert right - left >= 5 and bottom - top >= 5
    # A hollow box: its middle is background.
    assert result.image.getpixel(((left + right) // 2, (top + bottom) // 2)) == (0, 0, 0)


def test_a_later_font_draws_what_the_first_lacks():
    aileron = fonts.pillow_default()
    assert not aileron.covers("Ж")
    result = render("Ж", faces=(aileron, *NOTO))
    assert result.replaced == 0
    assert result.lines == ("Ж",)
    assert ink(result.image) is not None


def test_an_emoji_with_modifiers_is_one_replacement():
    for emoji in (
        "👍🏽",
        "🇬🇧",
        "👨\u200d👩\u200d👧",
        "❤️",
        "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
    ):
        result = render(f"a{emoji}b", faces=NOTO)
        assert result.lines == (f"a{REPLACEMENT}b",), emoji
        assert result.replaced == 1


def test_colours_are_drawn_as_asked():
    result = render("Hi", Style(color=(255, 255, 0), background=(0, 0, 255)), faces=NOTO)
    colours = {colour for _count, colour in result.image.getcolors(WIDTH * HEIGHT)}
    assert (0, 0, 255) in colours and (255, 255, 0) in colours


# 200 examples in all, shared out over the kinds of message (each kind a
# test of its own, so that they run in parallel).
@pytest.mark.parametrize("kind", MESSAGE_KINDS)
@settings(max_examples=200 // len(MESSAGE_KINDS), deadline=None)
@given(data=st.data())
def test_any_text_renders_to_a_screen_sized_image(kind, data):
    message = data.draw(MESSAGE_KINDS[kind], label="message")
    result = render(message, faces=NOTO)
    assert result.image.size == (WIDTH, HEIGHT)
    assert result.font_size >= MIN_SIZE
    assert not result.truncated or result.lines[-1].endswith("…")
    for line in result.lines:
        assert line == clean(line) and "\n" not in line


# Pairs that kern in DejaVu Sans (its kern table) and in most Latin fonts,
# among letters, digits, punctuation and other scripts.
KERNING_TEXT = st.text(alphabet="AVWTYoayev.,'-1LPÅЙΑΩ →✓ ", min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(text=KERNING_TEXT, size=st.integers(MIN_SIZE, MAX_SIZE))
def test_a_run_is_measured_as_pillow_measures_it(text, size):
    # The typesetter adds up what each character and pair contributes
    # instead of asking Pillow for the whole run: the layouts depend on the
    # two agreeing exactly, in every default face.
    faces = fonts.default_faces()
    setter = _Typesetter(faces, size)
    for index, face in enumerate(faces):
        assert setter._length(index, text) == face.font(size).getlength(text), face.name


def test_the_size_search_finds_the_largest_fitting_size_from_any_guess():
    # Fit holds up to some size and not above it; whatever the guess, the
    # search answers that size (None when not even the smallest fits).
    for largest in range(MIN_SIZE - 1, MAX_SIZE + 1):
        for guess in range(MIN_SIZE, MAX_SIZE + 1):
            asked: list[int] = []

            def fits(size: int, largest: int = largest, asked: list[int] = asked) -> bool:
                assert MIN_SIZE <= size <= MAX_SIZE
                asked.append(size)
                return size <= largest

            expected = largest if largest >= MIN_SIZE else None
            assert _largest_size(fits, guess) == expected, (largest, guess)
            assert len(asked) <= 14, (largest, guess, asked)  # a gallop and a bisection, no scan


def test_clean_keeps_line_breaks_and_composes_accents():
    assert clean("a\r\nb\rc\u2028d") == "a\nb\nc\nd"
    assert clean("e\u0301") == "é"
    assert clean("x\x1b[31my") == "x[31my"
    assert clean("\ud800") == REPLACEMENT


def test_clusters_keep_accents_and_emoji_sequences_together():
    assert list(clusters("ae\u0301👍🏽🇬🇧\n")) == ["a", "e\u0301", "👍🏽", "🇬🇧", "\n"]


def test_substitute_drops_invisible_format_characters():
    assert substitute("a\u200bb\u202ec", lambda c: True) == ("abc", 0)


def test_visible_sees_only_what_can_be_drawn():
    assert not visible(" \n\t\x00\u200b")
    assert visible(" x ")


def test_font_coverage_matches_what_freetype_draws():
    face = NOTO[0]
    font = face.font(20)
    notdef = bytes(font.getmask("\U000e0001"))  # a tag character: no glyph
    for char in "AzЖλ€…中😀\ufffd":
        draws_notdef = bytes(font.getmask(char)) == notdef
        assert face.covers(char) != draws_notdef, char


def test_coverage_of_something_that_is_not_a_font_is_an_error():
    with pytest.raises(FontFormatError):
        covered_codepoints(b"\x00\x01\x00\x00" + b"\x00" * 8)


def test_the_default_fonts_start_with_the_packaged_one():
    assert fonts.default_faces()[0].name == "Noto Sans"
