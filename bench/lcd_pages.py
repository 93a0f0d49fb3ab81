"""What the LCD's readings pages cost: drawing a page, and sending it to the panel.

On the virtual board with a manual clock: the weather, gas and particulate
groups are polled by hand, then every page is drawn (``enviro_sensor.lcd.readings_page``,
pure) and shown through the real st7735 driver on the emulated panel
(``Display.refresh``, what the LCD's thread does). Prints the median and
worst times per page and the process's peak RSS before and after. Asserts
nothing.

Run: ``.venv/bin/python bench/lcd_pages.py [--rounds 20]``
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from enviro_sensor.lcd.readings_page import PageContent, render_page
from tests.sensor_support import PolledApp


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="times every page is drawn")
    rounds = parser.parse_args().rounds

    polled = PolledApp(lcd="on", lcd_page_seconds=10)
    display = polled.service.display
    display.start(polled.board, refresh=False)
    display.wait_started(30)
    for _ in range(5):
        polled.poll("weather", "gas", "particulates")
    output = display.readings
    assert output is not None
    pages = len(output.pages)
    rss_before = peak_rss_mb()

    renders = []
    for _ in range(rounds):
        for index in range(pages):
            data = output.page_data(index)
            values = data.view.values or {}
            content = PageContent(
                data.page.title,
                data.page.quantity,
                values.get(data.page.key),
                data.recent,
                None,
                (index + 1, pages),
            )
            started = time.perf_counter()
            render_page(content)
            renders.append(time.perf_counter() - started)

    refreshes = []
    polled.clock.advance(10)
    for _ in range(rounds * pages):
        polled.clock.advance(10)  # the next page is due
        started = time.perf_counter()
        drawn = display.refresh()
        refreshes.append(time.perf_counter() - started)
        assert drawn
    display.stop()
    polled.close()

    def ms(values: list[float]) -> str:
        return f"median {statistics.median(values) * 1000:.1f} ms, worst {max(values) * 1000:.1f} ms"

    print(f"{pages} pages, {rounds} rounds")
    print(f"draw one page (lcd.readings_page.render_page): {ms(renders)}")
    print(f"turn the page and send it through st7735 to the emulated panel: {ms(refreshes)}")
    print(f"peak RSS: {rss_before:.1f} MB before the pages, {peak_rss_mb():.1f} MB after")


if __name__ == "__main__":
    main()
