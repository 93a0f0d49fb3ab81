"""What one LCD message costs to lay out and draw: milliseconds and font objects loaded, by length.

Each size the renderer tries is a FreeType font object, and loading one is
a cost (about 11 ms on x86 for the variable Noto Sans, which FreeType had
to auto-hint; under 1 ms for the packaged, hinted one); the font cache keeps
only four (``lcd.fonts.FONT_CACHE_SIZE``). Messages are words
of random letters, the same ones every run (seeded), from a few characters
to more than fit at the smallest size.

Run: ``.venv/bin/python bench/lcd_render.py`` (``--messages N`` per length).
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from enviro_sensor.lcd import fonts
from enviro_sensor.lcd.render import render

LENGTHS = (5, 20, 60, 120, 300, 1200)


def messages(length: int, count: int, rng: random.Random) -> list[str]:
    """``count`` messages of about ``length`` characters: words of 1 to 12 letters."""
    out = []
    for _ in range(count):
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < length:
            words.append("".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(1, 12))))
        out.append(" ".join(words)[:length])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=30, help="messages per length (30)")
    args = parser.parse_args()
    rng = random.Random(24)
    render("warm up")  # the faces' coverage tables, once
    print(f"{'length':>6}  {'ms/message':>10}  {'fonts loaded/message':>20}  {'size':>9}")
    for length in LENGTHS:
        batch = messages(length, args.messages, rng)
        fonts._font.cache_clear()
        started = time.perf_counter()
        sizes = [render(message).font_size for message in batch]
        elapsed = time.perf_counter() - started
        loaded = fonts._font.cache_info().misses / len(batch)
        print(
            f"{length:>6}  {elapsed / len(batch) * 1000:>10.1f}  {loaded:>20.1f}  {min(sizes):>4}-{max(sizes):<4}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
