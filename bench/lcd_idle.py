"""What the LCD's readings pages cost an idle service, per second of its time.

On the virtual board with a manual clock, a stretch of the service's life
is played out with the default intervals (weather and gas every 2 s, the
I2C sensors every 5 s) and the default page time (10 s): after each
second, the LCD's thread looks at the screen once for its timer, and once
more when a reading woke it (``LcdReadings.changed``), as
``Display._refresh_loop`` does. Prints the CPU the looks took per second
of board time (``time.thread_time``: this thread only, the emulated
panel's decoding of the SPI traffic included), how many frames reached the
panel, and the pixels it was sent against whole frames. Asserts nothing.

Run: ``.venv/bin/python bench/lcd_idle.py [--seconds 300]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from enviro_sensor.lcd.render import HEIGHT, WIDTH
from tests.sensor_support import PolledApp

# The default group intervals (enviro_sensor/sensors/groups.py) of the groups with pages here.
INTERVALS = {"weather": 2, "gas": 2, "i2c": 5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=300, help="seconds of board time played out")
    seconds = parser.parse_args().seconds

    polled = PolledApp(
        lcd="on",
        lcd_page_seconds=10,
        **{f"{group}_interval": float(every) for group, every in INTERVALS.items()},
    )
    display = polled.service.display
    display.start(polled.board, refresh=False)
    display.wait_started(30)
    output = display.readings
    assert output is not None
    panel = polled.board._panel
    pixels_before = panel.pixels_received

    spent, looks, frames = 0.0, 0, 0
    for second in range(seconds):
        for group, every in INTERVALS.items():
            if second % every == 0:
                polled.collector.poll(group)
        polled.settle()
        polled.clock.advance(1.0)
        woken = output.changed.is_set()
        output.changed.clear()
        for _ in range(1 + woken):
            started = time.thread_time()
            frames += display.refresh()
            spent += time.thread_time() - started
            looks += 1
    pixels = panel.pixels_received - pixels_before
    display.stop()
    polled.close()

    print(f"{seconds} s of board time, {looks} looks at the screen, {frames} frames sent")
    print(
        f"LCD thread CPU: {spent / seconds * 1000:.2f} ms per second ({spent / seconds * 100:.3f} % of a core)"
    )
    if frames:
        print(
            f"pixels sent per frame: {pixels / frames:.0f} of {WIDTH * HEIGHT} "
            f"({pixels / frames / (WIDTH * HEIGHT) * 100:.0f} % of a whole frame)"
        )


if __name__ == "__main__":
    main()
