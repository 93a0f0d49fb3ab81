"""Posting LCD messages of every size keeps the worker's memory flat.

Measured in a fresh interpreter, so that nothing else in the test process
moves the figure.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEASURE = """
import gc
from enviro_sensor.lcd import fonts, render

def rss_mib():
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024

render.render("enviro-sensor\\n192.168.1.20:8000")  # the start-up screen
gc.collect()
before = rss_mib()
for face in fonts.default_faces():
    for size in range(render.MIN_SIZE, render.MAX_SIZE + 1):
        face.font(size).getlength("Hello, Wörld → ✓")
for length in (1, 5, 20, 80, 300, 1000):
    render.render("Wörds → ✓ " * (length // 10 + 1))
gc.collect()
print(rss_mib() - before)
"""


def test_every_size_of_every_face_costs_less_than_5_mib():
    result = subprocess.run(
        [sys.executable, "-c", MEASURE], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    growth_mib = float(result.stdout.strip().splitlines()[-1])
    assert growth_mib < 5, f"the worker grew by {growth_mib:.1f} MiB"


def test_each_font_file_is_read_by_freetype_from_the_one_file():
    from enviro_sensor.lcd import fonts

    for face in fonts.default_faces():
        if face.name != "Aileron":  # Pillow's built-in font has no file
            assert face.path is not None and face.path.is_file()
            assert face.font(20).path == str(face.path)
