"""The dashboard's history charts in headless Chromium (Debian's, driven by playwright).

The app runs on the virtual board with a test clock, served on loopback by
werkzeug; its history holds 30 days of generated values with a paused day.
The page must draw one chart per sensor from the service's own uPlot, switch
between 24 h, 7 d and 30 d, fit a phone's width, and update without a reload.
"""

from __future__ import annotations

import contextlib
import math
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from enviro_sensor.history.database import path_in
from enviro_sensor.history.writer import HistoryWriter, Limits
from tests.history_support import history_app, history_output, poll_for

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)"
)

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)"),
]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
START = 1_700_000_000.0  # the test clock's start (ManualClock)


def _thirty_days(data_dir: Path) -> None:
    """A daily temperature swing every 5 minutes for 30 days, day 20 missing (paused)."""
    writer = HistoryWriter(path_in(data_dir), Limits(7, 400, 10**9), "x")
    values, events = [], []
    for step in range(30 * 288):
        t = START - 30 * 86400 + step * 300
        if 20 * 288 <= step < 21 * 288:
            continue
        temperature = 21 + 3 * math.sin(2 * math.pi * step / 288)
        values.append(("bme280", "temperature_celsius", t, round(temperature, 2)))
    events.append((START - 10 * 86400, "bme280", "paused", "paused by request"))
    writer.write(values, events)
    writer.close()


@contextlib.contextmanager
def serving(polled) -> Iterator[str]:
    """``polled``'s app on a loopback port for the browser: its base URL; closed after."""
    server = make_server("127.0.0.1", 0, polled.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        thread.join(10)
        polled.close()


@pytest.fixture
def served(tmp_path):
    _thirty_days(tmp_path)
    polled = history_app(tmp_path)
    poll_for(polled, 5)
    history_output(polled).flush()
    with serving(polled) as base:
        yield polled, base


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _asks_for(page, since: str, action) -> None:
    """``action`` makes the page ask the history for ``since`` (earlier answers may still arrive)."""
    with page.expect_response(
        lambda r: "/api/history?" in r.url and f"since={since}" in r.url, timeout=20000
    ):
        action()


def test_charts_of_24_hours_7_and_30_days_on_a_phone(served, browser):
    _, base = served
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(base) else elsewhere.append(r.url))
    page.clock.install()  # timers under the test's control: "a minute later" without waiting
    page.goto(base)
    page.wait_for_selector("section.chart canvas", timeout=20000)
    page.wait_for_function("document.querySelectorAll('section.chart canvas').length >= 6", timeout=20000)
    sensors = page.locator("section.chart h3").all_inner_texts()
    assert any(text.startswith("bme280") for text in sensors)
    # Readable on a phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    widths = page.evaluate(
        "[...document.querySelectorAll('section.chart canvas')].map(c => c.getBoundingClientRect().width)"
    )
    assert all(200 <= w <= 390 for w in widths), widths

    bme280 = page.locator("section.chart", has_text="bme280")
    bme280.locator("select").select_option("temperature_celsius")
    page.wait_for_timeout(300)
    for label, since in (("7 d", "-7d"), ("30 d", "-30d"), ("24 h", "-24h")):
        _asks_for(page, since, lambda label=label: page.get_by_role("button", name=label).click())
        assert page.get_by_role("button", name=label).get_attribute("aria-pressed") == "true"
    page.get_by_role("button", name="30 d").click()
    page.wait_for_timeout(500)
    bme280.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-phone.png"), full_page=True)
    bme280.screenshot(path=str(SCREENSHOTS / "dashboard-bme280-30d.png"))

    # A minute later the charts ask again, without a reload.
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    with page.expect_response(lambda r: "/api/history?" in r.url, timeout=20000):
        page.clock.run_for(61_000)
    assert navigations == []
    assert elsewhere == [], f"the page loaded from elsewhere: {elsewhere}"
    page.close()


def test_the_page_says_so_when_there_is_no_history(browser, tmp_path):
    from tests.sensor_support import PolledApp

    polled = PolledApp()
    polled.poll()
    with serving(polled) as base:
        page = browser.new_page()
        page.goto(base)
        page.wait_for_selector("#charts p.note:has-text('ENVIRO_DATA_DIR')", timeout=20000)
        page.close()


def test_the_noise_group_shows_its_levels_in_dbfs(served, browser):
    # The group, its sensor and its values follow from the declarations.
    _, base = served
    page = browser.new_page()
    page.goto(base)
    noise = page.locator("#groups section", has_text="noise")
    noise.locator("h3", has_text="microphone").wait_for(timeout=20000)
    rows = noise.locator("tr").all_inner_texts()
    levels = {line.split("\t")[0]: line.split("\t")[1] for line in rows}
    assert set(levels) == {
        "Sound level",
        "Sound level (low band)",
        "Sound level (mid band)",
        "Sound level (high band)",
    }
    assert all(
        value.endswith(" dBFS") and float(value.removesuffix(" dBFS")) < 0 for value in levels.values()
    )
    page.close()


def test_derived_values_show_their_notes(browser):
    """A value still being learned shows why it is missing; a coded one what it means."""
    from tests.sensor_support import PolledApp

    polled = PolledApp()
    polled.poll()
    with serving(polled) as base:
        page = browser.new_page()
        page.goto(base)
        learning = page.locator("tr", has_text="Oxidising gas (Rs/R0)")
        learning.wait_for(timeout=20000)
        assert "learning the clean-air baseline: 0 of 24" in learning.inner_text()
        assert learning.locator("td.value").inner_text() == "–"
        aqi = page.locator("tr", has_text="Air quality index")
        assert "the NowCast needs hourly averages" in aqi.inner_text()
        page.close()


def test_the_dashboard_shows_remote_nodes_with_their_charts(tmp_path, browser):
    from tests.node_support import doc_devices, kitchen_packet

    polled = history_app(tmp_path, nodes_file=doc_devices())
    packet = kitchen_packet()
    polled.service.nodes.receive(packet)
    poll_for(polled, 2)
    history_output(polled).flush()
    with serving(polled) as base:
        page = browser.new_page()
        page.goto(base)
        nodes = page.locator("#nodes section")
        nodes.first.wait_for(timeout=20000)
        text = nodes.first.inner_text()
        assert "kitchen" in text and "battery 3.71 V" in text and "Kitchen, on the fridge" in text
        assert "Temperature" in text and "21.50 °C" in text
        # The battery is a value like the others: its label, decimals and unit.
        assert "Battery\t3.712 V" in nodes.first.locator("tr", has_text="Battery").inner_text()
        chart = page.locator(".chart", has=page.locator("h3", has_text="kitchen/bme280"))
        chart.wait_for(timeout=20000)
        battery = page.locator(".chart", has=page.locator("h3", has_text="kitchen/battery"))
        assert battery.locator("option").all_inner_texts() == ["Battery (V)"]
        page.close()


# -- what a person sees at three widths ---------------------------------------------

WIDTHS = (390, 1280, 1920)


def _columns(page, selector: str) -> int:
    """How many columns a grid shows: the distinct left edges of its children."""
    return page.evaluate(
        f"new Set([...document.querySelectorAll('{selector} > section')].map(e => Math.round(e.getBoundingClientRect().left))).size"
    )


def _wait_for_charts(page, count: int) -> None:
    page.wait_for_function(
        f"document.querySelectorAll('section.chart canvas').length >= {count}", timeout=20000
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_page_uses_the_width_it_has(served, browser, width):
    _, base = served
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(base)
        _wait_for_charts(page, 6)
        page.wait_for_timeout(300)  # the charts take their cards' widths
        # Nothing wider than the window, and no empty third at the right.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        right = page.evaluate(
            "Math.max(...[...document.querySelectorAll('#groups > section')].map(e => e.getBoundingClientRect().right))"
        )
        assert right >= width - 40, right
        groups, charts = _columns(page, "#groups"), _columns(page, "#charts")
        expected = {390: (1, 1), 1280: (3, 3), 1920: (5, 4)}[width]
        assert (groups, charts) >= expected and (width > 390 or (groups, charts) == (1, 1)), (groups, charts)
        # Each chart fills its card.
        fits = page.evaluate(
            "[...document.querySelectorAll('section.chart')].map(c => "
            "c.querySelector('canvas').getBoundingClientRect().width / c.getBoundingClientRect().width)"
        )
        assert all(0.85 <= f <= 1.0 for f in fits), fits
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"dashboard-{width}.png"), full_page=True)
    finally:
        page.close()


def test_names_and_labels_are_a_persons(browser):
    from tests.sensor_support import PolledApp

    polled = PolledApp(gas_warmup=600.0)
    polled.poll()
    with serving(polled) as base:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        try:
            page.goto(base)
            weather = page.locator("#groups section", has_text="weather")
            weather.get_by_text("Temperature (compensated)").wait_for(timeout=20000)
            rows = dict(line.split("\t") for line in weather.locator("tr").all_inner_texts())
            assert rows["Proximity"].isdigit()  # a count: no decimals
            assert rows["Pressure"].endswith(" hPa") and rows["Light"].endswith(" lx")
            particulates = page.locator("#groups section", has_text="particulates")
            particulates.get_by_text("Particles > 0.3 µm").wait_for(timeout=20000)
            counts = dict(line.split("\t") for line in particulates.locator("tr").all_inner_texts())
            assert counts["PM2.5"].endswith(" µg/m³") and "." not in counts["PM2.5"]
            # The gas heater warms up: the badge says so once, the note what is left.
            gas = page.locator("#groups section", has_text="gas")
            gas.locator(".status", has_text="warming up").first.wait_for(timeout=20000)
            text = gas.inner_text()
            assert "warming-up" not in text and "warming up, warming up" not in text
            assert re.search(r"\b\d+ s left", text), text
        finally:
            page.close()


def _flat_day(data_dir: Path) -> None:
    """A day of a temperature that hardly moves (20.015 to 20.025 °C): ticks 0.005 apart."""
    writer = HistoryWriter(path_in(data_dir), Limits(7, 400, 10**9), "x")
    values = [
        ("bme280", "temperature_celsius", START - 86400 + step * 300, 20.02 + 0.005 * math.sin(step / 20))
        for step in range(288)
    ]
    writer.write(values, [])
    writer.close()


def test_no_axis_repeats_a_label(browser, tmp_path):
    _flat_day(tmp_path)
    polled = history_app(tmp_path)
    polled.poll("weather")  # a live reading makes the chart; the history is not flushed
    with serving(polled) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(base)
            _wait_for_charts(page, 1)
            bme280 = page.locator("section.chart", has=page.locator("h3", has_text="bme280"))
            bme280.locator("select").select_option("temperature_celsius")
            page.wait_for_function(
                "charts.bme280 && charts.bme280.chart && charts.bme280.chart.field === 'temperature_celsius'"
            )
            page.wait_for_timeout(300)
            labels = page.evaluate("charts.bme280.chart.axes[1]._values")
            assert len(labels) >= 3 and len(set(labels)) == len(labels), labels
            assert all(label.endswith(" °C") for label in labels), labels
        finally:
            page.close()


def test_a_range_longer_than_the_history_starts_at_the_first_reading(browser, tmp_path):
    # A service that started a minute ago: its 24 h chart is its minute, not a sliver at the right.
    polled = history_app(tmp_path)
    poll_for(polled, 60)
    history_output(polled).flush()
    with serving(polled) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(base)
            _wait_for_charts(page, 1)
            page.wait_for_function("charts.bme280 && charts.bme280.chart")
            first, low, high = page.evaluate(
                "[charts.bme280.chart.data[0][0], charts.bme280.chart.scales.x.min, charts.bme280.chart.scales.x.max]"
            )
            assert low == first, (low, first)
            assert high - low < 3600
        finally:
            page.close()


def test_a_name_breaks_only_between_its_parts(browser, tmp_path):
    from enviro_sensor.nodes import protocol
    from enviro_sensor.nodes.devices import parse_devices
    from enviro_sensor.nodes.protocol import Encoding, Measurement, Packet

    key = bytes(range(32))
    devices = parse_devices(
        '[[device]]\nid = 1001\nname = "upstairs-landing-by-the-window"\nlocation = "Landing"\n'
        f'key = "{key.hex()}"\nmeasurements = ["bme280.temperature_celsius"]\n'
    )
    polled = history_app(tmp_path, nodes_file=devices)
    polled.service.nodes.receive(
        protocol.encode(Packet(1001, 1, 3712, 60, 300, (Measurement(Encoding.FLOAT32, 21.5),)), key)
    )
    poll_for(polled, 2)
    history_output(polled).flush()
    with serving(polled) as base:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        try:
            page.goto(base)
            title = page.locator(".chart h3", has_text="upstairs-landing-by-the-window/bme280")
            title.wait_for(timeout=20000)
            # Each part of the name is on one line: "upstairs-" never ends a line.
            parts = page.evaluate(
                "[...document.querySelectorAll('.name')].map(n => [n.textContent, n.getClientRects().length])"
            )
            assert ["upstairs-landing-by-the-window", 1] in parts
            assert all(lines == 1 for _, lines in parts), parts
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
        finally:
            page.close()
