"""The LCD's fonts in memory: few font objects kept, so each font file is mapped only a
few times; what each face covers kept as ranges of code points.

FreeType maps the font file once per font object (one per size), and RSS
counts the file's pages again in every mapping; the readings page still
finds its sizes kept from one redraw to the next. Measured in a fresh
interpreter, so that fonts used by other tests do not count.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAPPINGS = """
import json
from enviro_sensor.lcd import fonts, render

for length in range(1, 1000, 37):
    render.render("Wörds Привет " * (length // 10 + 1))
counts = {}
with open("/proc/self/maps") as maps:
    for line in maps:
        path = line.split(maxsplit=5)[-1].strip()
        if path.endswith((".ttf", ".otf")):
            counts[path] = counts.get(path, 0) + 1
print(json.dumps(counts))
"""


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux's /proc")
def test_messages_of_every_length_leave_each_font_file_mapped_at_most_four_times():
    done = subprocess.run(
        [sys.executable, "-c", MAPPINGS], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    counts = json.loads(done.stdout.splitlines()[-1])
    assert counts, "no font file is mapped: the fonts were not loaded from their files"
    assert max(counts.values()) <= 4, counts


def test_redrawing_a_readings_page_loads_no_font_again():
    from enviro_sensor.lcd import fonts
    from enviro_sensor.lcd.pages import QUANTITIES
    from enviro_sensor.lcd.readings_page import PageContent, render_page

    page = PageContent("Temperature", QUANTITIES[0], 21.5, (21.0, 21.5), None, (1, 16))
    render_page(page)
    loaded = fonts._font.cache_info().misses
    render_page(PageContent("Temperature", QUANTITIES[0], 21.7, (21.0, 21.5, 21.7), None, (1, 16)))
    assert fonts._font.cache_info().misses == loaded


def test_a_faces_coverage_answers_as_its_fonts_character_map():
    from enviro_sensor.lcd import fonts
    from enviro_sensor.lcd.cmap import covered_codepoints

    face = fonts.noto_sans()
    assert face is not None and face.path is not None
    mapped = covered_codepoints(face.path.read_bytes())
    assert [cp for cp in range(0x30000) if (cp in face.coverage) != (cp in mapped)] == []
    assert len(face.coverage) == len(mapped)


def test_a_face_loaded_from_its_file_keeps_a_few_kb():
    import gc
    import tracemalloc

    from enviro_sensor.lcd import fonts

    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        face = fonts.noto_sans()
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert face is not None
    # Its coverage as a frozenset of 3,100 ints held about 230 KB.
    assert kept < 32 * 1024, kept
