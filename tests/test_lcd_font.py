"""The LCD's packaged font: Noto Sans Medium, hinted, covering what the variable Noto Sans covers.

``scripts/test`` also checks that the file is exactly what
``scripts/lcd_font.py`` makes from the pinned Noto Sans (it takes seconds,
so it runs beside ruff rather than here).
"""

from __future__ import annotations

import importlib.resources

from fontTools.ttLib import TTFont

from enviro_sensor.lcd import fonts
from enviro_sensor.lcd.cmap import covered_codepoints

SOURCE = importlib.resources.files("fontpkg_noto_sans").joinpath("files/NotoSans[wdth,wght].ttf")
PACKAGED = importlib.resources.files("enviro_sensor.lcd").joinpath(fonts.NOTO_SANS_FILE)


def test_the_packaged_font_draws_every_character_the_variable_noto_sans_has():
    assert covered_codepoints(PACKAGED.read_bytes()) == covered_codepoints(SOURCE.read_bytes())
    face = fonts.noto_sans()
    assert face is not None and face.name == "Noto Sans"
    assert all(face.covers(char) for char in "Grüße, Ελλάδα, Привет, Tiếng Việt")


def test_the_packaged_font_is_static_medium_and_carries_its_own_hints():
    with PACKAGED.open("rb") as file:
        font = TTFont(file)
        # No variation tables: one weight, and nothing for FreeType to blend.
        assert "fvar" not in font and "gvar" not in font
        assert font["OS/2"].usWeightClass == 500
        # TrueType instructions, so FreeType does not run its auto-hinter
        # (which analyses the whole font for every new font object).
        assert "fpgm" in font and "prep" in font
        assert font["maxp"].maxSizeOfInstructions > 0


def test_a_missing_packaged_font_falls_back_to_the_next_face(monkeypatch, caplog):
    monkeypatch.setattr(fonts, "NOTO_SANS_FILE", "font_files/absent.ttf")
    assert fonts.noto_sans() is None
    assert "reinstall enviro-sensor" in caplog.text
