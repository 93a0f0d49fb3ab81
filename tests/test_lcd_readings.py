"""The LCD's readings mode, end to end: virtual sensors read by the real drivers,
readings through the outputs, pages drawn on the emulated ST7735 by the real
st7735 driver.

The tests poll the sensors and turn the LCD's screen by hand
(``Display.refresh``, what the LCD's thread calls), on a manual clock. What
a page should show is worked out from what the JSON routes said after each
poll, so the panel is checked against the API, not against the screen's own
bookkeeping.

The reference images in tests/lcd_reference/page_*.png are what the page
renderer must reproduce exactly; regenerate them after an intended change
with ``UPDATE_LCD_REFERENCE=1 .venv/bin/python -m pytest tests/test_lcd_readings.py``
and look at them before committing.
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageChops

from enviro_sensor.lcd import fonts
from enviro_sensor.lcd.pages import CHART_POINTS, QUANTITIES, Quantity, pages_for
from enviro_sensor.lcd.readings_page import (
    BACKGROUND,
    CHART_BOTTOM,
    CHART_TOP,
    PageContent,
    chart_rows,
    format_value,
    render_page,
)
from enviro_sensor.lcd.render import render
from enviro_sensor.lcd.startup import startup_message
from enviro_sensor.records import Reading
from enviro_sensor.sensors import registry
from enviro_sensor.sensors.config import Sensor
from tests.lcd_support import differing_pixels
from tests.sensor_support import PolledApp

REFERENCE = Path(__file__).parent / "lcd_reference"
NOTO = (fonts.noto_sans(),)
# Each quantity as a page of some kind shows it, its unit resolved from the field.
QUANTITY = {
    page.key: page.quantity
    for page in pages_for(
        Sensor(name, kind, kind.address, 1, kind.group) for name, kind in registry.kinds().items()
    )
}
PAGE_SECONDS = 10.0
TAP = 500
# Pages of the board's sensors in a PolledApp: the table's 14 quantities, the AQI and the sound level.
LIVE_PAGES = 16


@pytest.fixture
def polled():
    app = PolledApp(
        lcd="on", lcd_page_seconds=PAGE_SECONDS, lcd_tap_proximity=TAP, host="127.0.0.1", port=8123
    )
    display = app.service.display
    display.start(app.board, refresh=False)  # the test turns the screen itself
    assert display.wait_started(30)
    yield app
    display.stop()
    app.close()


def panel(polled):
    return polled.board.lcd_frame()


def screen(polled):
    return polled.service.display.screen


def refresh(polled) -> bool:
    return polled.service.display.refresh()


def value_of(polled, group: str, sensor: str, key: str):
    """The value as JSON shows it; None when the group has none to show (503)."""
    answer = polled.client.get(f"/api/sensors/{group}").get_json()
    if "result" not in answer:
        return None
    return answer["result"]["sensors"][sensor]["values"].get(key)


def poll_recording(polled, times: int) -> list[float]:
    """Poll the weather group ``times`` times; the BME280's room temperature after each, as JSON said."""
    values = []
    for _ in range(times):
        polled.poll("weather")
        values.append(value_of(polled, "weather", "bme280", "temperature_compensated_celsius"))
    return values


def expected_page(title, key, values, number, note=None, value="last"):
    latest = values[-1] if value == "last" else value
    return render_page(PageContent(title, QUANTITY[key], latest, tuple(values), note, (number, LIVE_PAGES)))


def leave_startup_screen(polled):
    """Let the start-up screen's time pass (the readings polled after this are fresh)."""
    polled.clock.advance(PAGE_SECONDS)
    assert refresh(polled)


# -- the pages on the panel --------------------------------------------------------


def test_the_start_up_screen_stays_one_page_interval_then_the_first_page_shows(polled):
    startup = render(startup_message("127.0.0.1", 8123)).image
    polled.clock.advance(PAGE_SECONDS - 1)
    assert not refresh(polled)
    assert differing_pixels(panel(polled), startup) == 0
    polled.clock.advance(1)
    values = poll_recording(polled, 3)
    assert refresh(polled)
    expected = expected_page("Temperature bme280", "temperature_compensated_celsius", values, 1)
    assert differing_pixels(panel(polled), expected) == 0


def test_get_answers_the_page_the_screen_shows(polled):
    leave_startup_screen(polled)
    values = poll_recording(polled, 2)
    assert refresh(polled)
    answer = polled.client.get("/api/lcd")
    assert answer.mimetype == "image/png"
    shown = Image.open(io.BytesIO(answer.data)).convert("RGB")
    expected = expected_page("Temperature bme280", "temperature_compensated_celsius", values, 1)
    assert differing_pixels(shown, expected) == 0


def test_the_chart_follows_each_new_reading(polled):
    leave_startup_screen(polled)
    values = poll_recording(polled, 2)
    for _ in range(4):
        values += poll_recording(polled, 1)
        assert refresh(polled)  # a new reading: the page is drawn again
        expected = expected_page("Temperature bme280", "temperature_compensated_celsius", values, 1)
        assert differing_pixels(panel(polled), expected) == 0
    assert not refresh(polled)  # nothing new: nothing sent to the panel


def room_reading(polled, celsius: float) -> Reading:
    """A BME280 reading of ``celsius`` in the room, a moment after the last (the page stays)."""
    polled.clock.advance(0.01)
    values = {"temperature_celsius": celsius + 4, "temperature_compensated_celsius": celsius}
    return reading("bme280", at=polled.clock, **values)


def test_a_reading_that_changes_nothing_shown_sends_nothing_to_the_panel(polled):
    output = polled.service.display.readings
    panel_chip = polled.board._panel
    leave_startup_screen(polled)
    values = [21.0] * CHART_POINTS  # a full chart of one value: its rows stay put
    for value in values:
        output.handle_reading(room_reading(polled, value))
    assert refresh(polled)
    frames, pixels = panel_chip.frames_drawn, panel_chip.pixels_received
    # New readings, each a new point, but the same "21.0" and the same flat chart.
    for _ in range(3):
        output.handle_reading(room_reading(polled, 21.0))
        assert not refresh(polled)
    assert (panel_chip.frames_drawn, panel_chip.pixels_received) == (frames, pixels)
    # A value that shows: a frame, with only the part that changed in it.
    output.handle_reading(room_reading(polled, 21.3))
    values += [21.0] * 3 + [21.3]
    assert refresh(polled)
    assert panel_chip.frames_drawn == frames + 1
    assert 0 < panel_chip.pixels_received - pixels < 160 * 80  # the heading is not sent again
    expected = expected_page(
        "Temperature bme280", "temperature_compensated_celsius", values[-CHART_POINTS:], 1
    )
    assert differing_pixels(panel(polled), expected) == 0


def test_the_pages_turn_on_the_timer(polled):
    poll_recording(polled, 1)
    leave_startup_screen(polled)
    assert screen(polled).page == 0
    polled.clock.advance(PAGE_SECONDS - 1)
    refresh(polled)
    assert screen(polled).page == 0
    polled.clock.advance(1)
    assert refresh(polled)
    assert screen(polled).page == 1
    aht10 = value_of(polled, "i2c", "aht10", "temperature_celsius")
    assert aht10 is None  # the I2C group was never polled: nothing to show, not a 0
    expected = expected_page("Temperature aht10", "temperature_celsius", [], 2, note="starting", value=None)
    assert differing_pixels(panel(polled), expected) == 0
    for page in range(2, LIVE_PAGES + 2):
        polled.clock.advance(PAGE_SECONDS)
        refresh(polled)
        assert screen(polled).page == page % LIVE_PAGES  # after the last, the first again


def wave_peak(polled, threshold: int) -> float:
    """The board time at which the virtual room's next hand wave over the
    sensor peaks above ``threshold`` counts (the environment model's own)."""
    environment = polled.board.environment
    t = polled.clock.now()
    while t < polled.clock.now() + 7 * 86400:
        if environment.proximity(t) >= threshold:
            # The peak: a reading there is surely over the threshold.
            return max((environment.proximity(t + i / 10), t + i / 10) for i in range(70))[1]
        t += 0.5
    raise AssertionError("no wave in a week of the virtual room")


def test_a_hand_over_the_proximity_sensor_turns_the_page(polled):
    poll_recording(polled, 1)
    leave_startup_screen(polled)
    peak = wave_peak(polled, 2 * TAP)
    # Just before the wave; the timer turns the page, and starts again.
    polled.clock.advance(peak - 5 - polled.clock.now())
    polled.poll("weather")
    assert value_of(polled, "weather", "ltr559", "proximity") < TAP
    refresh(polled)
    before = screen(polled).page
    # The hand: 5 s later, well inside the page interval.
    polled.clock.advance(peak - 0.2 - polled.clock.now())
    polled.poll("weather")
    assert value_of(polled, "weather", "ltr559", "proximity") >= TAP
    assert refresh(polled)
    assert screen(polled).page == before + 1


def test_a_tap_ends_the_start_up_screen_early(polled):
    output = polled.service.display.readings
    assert output is not None
    poll_recording(polled, 1)
    for proximity in (5, 1500):
        output.handle_reading(reading("ltr559", proximity=proximity, at=polled.clock))
    assert refresh(polled)
    assert screen(polled).page == 0  # the first page, not the second


def test_a_stale_reading_is_shown_grey_and_marked_stale(polled):
    leave_startup_screen(polled)
    values = poll_recording(polled, 3)
    assert refresh(polled)
    # Fresh for three intervals (1 s each here) plus the read timeout (2 s);
    # the page interval (10 s) is not over yet.
    polled.clock.advance(6)
    assert refresh(polled)
    assert screen(polled).page == 0
    expected = expected_page("Temperature bme280", "temperature_compensated_celsius", values, 1, note="stale")
    assert differing_pixels(panel(polled), expected) == 0


def test_a_sensor_with_no_reading_shows_a_dash_not_zero(polled):
    poll_recording(polled, 1)
    leave_startup_screen(polled)
    while screen(polled).page != 9:  # PM2.5: the particulates group is never polled here
        polled.clock.advance(PAGE_SECONDS)
        refresh(polled)
    frame = np.asarray(panel(polled).convert("L"))
    value_row = frame[18:42, :100]  # where the value is written
    columns = np.flatnonzero(value_row.max(axis=0) > 64)
    assert 0 < columns.max() - columns.min() < 12  # a short dash, no digits
    expected = render_page(
        PageContent(
            "PM2.5",
            QUANTITY["pm2_5_atmospheric_micrograms_per_cubic_meter"],
            None,
            (),
            "starting",
            (10, LIVE_PAGES),
        )
    )
    assert differing_pixels(panel(polled), expected) == 0


def test_a_panel_that_fails_is_left_alone_a_while_then_shows_the_pages_again(polled):
    leave_startup_screen(polled)
    polled.board.faults.set("st7735", "ioerror")
    polled.clock.advance(PAGE_SECONDS)
    assert not refresh(polled)  # the write failed: no crash, no frame
    assert polled.registry.get_sample_value("enviro_lcd_up") == 0
    polled.board.faults.clear("st7735")
    polled.clock.advance(1)
    assert not refresh(polled)  # not tried again at once: one error line, not one per reading
    polled.clock.advance(10)
    assert refresh(polled)
    assert polled.registry.get_sample_value("enviro_lcd_up") == 1
    # The timer went on meanwhile: the third page (the BMP280, never polled here).
    assert screen(polled).page == 2
    expected = expected_page("Temperature bmp280", "temperature_celsius", [], 3, note="starting", value=None)
    assert differing_pixels(panel(polled), expected) == 0


# -- messages and the readings ---------------------------------------------------


def test_a_message_with_a_duration_gives_the_screen_back_to_the_readings(polled):
    leave_startup_screen(polled)
    values = poll_recording(polled, 2)
    answer = polled.client.post("/api/lcd", json={"message": "Pizza in 10 min", "duration_seconds": 30})
    assert answer.status_code == 200
    assert answer.get_json()["result"]["duration_seconds"] == 30
    message = render("Pizza in 10 min").image
    values += poll_recording(polled, 1)
    polled.clock.advance(28)
    assert not refresh(polled)
    assert differing_pixels(panel(polled), message) == 0
    polled.clock.advance(2)
    values += poll_recording(polled, 1)
    assert refresh(polled)
    # The page it left, with the readings that came meanwhile.
    expected = expected_page("Temperature bme280", "temperature_compensated_celsius", values, 1)
    assert differing_pixels(panel(polled), expected) == 0


def test_a_message_without_a_duration_stays_until_the_next(polled):
    poll_recording(polled, 1)
    leave_startup_screen(polled)
    assert (
        "duration_seconds"
        not in polled.client.post("/api/lcd", json={"message": "Gone fishing"}).get_json()["result"]
    )
    polled.clock.advance(86400)
    poll_recording(polled, 1)
    assert not refresh(polled)
    assert differing_pixels(panel(polled), render("Gone fishing").image) == 0
    polled.client.post("/api/lcd", json={"message": "Back", "duration_seconds": 5})
    polled.clock.advance(5)
    assert refresh(polled)
    assert differing_pixels(panel(polled), render("Back").image) > 0


def test_taps_during_a_message_do_not_dismiss_it(polled):
    output = polled.service.display.readings
    poll_recording(polled, 1)
    leave_startup_screen(polled)
    polled.client.post("/api/lcd", json={"message": "Hands off", "duration_seconds": 60})
    for proximity in (5, 1500, 5, 1500):
        output.handle_reading(reading("ltr559", proximity=proximity, at=polled.clock))
    assert not refresh(polled)
    assert differing_pixels(panel(polled), render("Hands off").image) == 0


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('{"message": "hi", "duration_seconds": 0}', "from 1 to 86400"),
        ('{"message": "hi", "duration_seconds": -5}', "from 1 to 86400"),
        ('{"message": "hi", "duration_seconds": 0.5}', "from 1 to 86400"),
        ('{"message": "hi", "duration_seconds": 86401}', "from 1 to 86400"),
        ('{"message": "hi", "duration_seconds": 1e309}', "from 1 to 86400"),
        ('{"message": "hi", "duration_seconds": NaN}', "from 1 to 86400"),
        ('{"message": "hi", "duration_seconds": Infinity}', "from 1 to 86400"),
        ('{"message": "hi", "duration_seconds": "60"}', "a number of seconds"),
        ('{"message": "hi", "duration_seconds": true}', "a number of seconds"),
        ('{"message": "hi", "duration_seconds": [60]}', "a number of seconds"),
    ],
)
def test_a_bad_duration_is_a_400_and_the_screen_is_left_alone(polled, body, says):
    before = panel(polled)
    answer = polled.client.post("/api/lcd", data=body, content_type="application/json")
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["status"] == 400
    assert says in error["message"]
    assert differing_pixels(panel(polled), before) == 0


def test_in_messages_mode_the_start_up_screen_comes_back_and_no_readings_show():
    polled = PolledApp(lcd="on", lcd_mode="messages", host="127.0.0.1", port=8123)
    display = polled.service.display
    display.start(polled.board, refresh=False)
    try:
        assert display.wait_started(30)
        assert "lcd" not in polled.client.get("/api/outputs").get_json()["result"]["outputs"]
        polled.poll("weather")
        polled.clock.advance(3600)
        assert not display.refresh()
        startup = render(startup_message("127.0.0.1", 8123)).image
        assert differing_pixels(polled.board.lcd_frame(), startup) == 0
        polled.client.post("/api/lcd", json={"message": "Tea", "duration_seconds": 60})
        polled.clock.advance(60)
        assert display.refresh()
        assert differing_pixels(polled.board.lcd_frame(), startup) == 0
        polled.clock.advance(3600)
        assert not display.refresh()
    finally:
        display.stop()
        polled.close()


def test_the_lcds_own_thread_shows_the_readings():
    polled = PolledApp(lcd="on", lcd_page_seconds=PAGE_SECONDS)
    display = polled.service.display
    display.start(polled.board)
    try:
        assert display.wait_started(30)
        startup = polled.board.lcd_frame()
        polled.poll("weather")
        polled.clock.advance(PAGE_SECONDS)
        deadline = time.monotonic() + 20  # the thread looks at least once a second
        while not polled.registry.get_sample_value("enviro_lcd_pages_total") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert polled.registry.get_sample_value("enviro_lcd_pages_total") == 1
        assert differing_pixels(polled.board.lcd_frame(), startup) > 0
        assert polled.client.get("/api/outputs").get_json()["result"]["outputs"]["lcd"]["up"] is True
    finally:
        display.stop()
        polled.close()


# -- the output, the pages, the drawing ---------------------------------------------


def reading(sensor, at, **values):
    now = at.monotonic()
    return Reading("local", sensor, "weather", values, at.now(), now, 0.01)


def test_the_lcds_thread_is_woken_by_the_page_on_the_screen_and_by_taps(polled):
    output = polled.service.display.readings
    leave_startup_screen(polled)  # the first page: the BME280's room temperature
    output.changed.clear()
    output.handle_reading(reading("ltr559", proximity=3, at=polled.clock))
    output.handle_reading(reading("bmp280", temperature_celsius=20.0, at=polled.clock))
    assert not output.changed.is_set()  # their pages are not on the screen
    output.handle_reading(reading("bme280", temperature_compensated_celsius=20.0, at=polled.clock))
    assert output.changed.is_set()
    output.changed.clear()
    output.handle_reading(reading("ltr559", proximity=TAP, at=polled.clock))
    assert output.changed.is_set()  # a tap turns the page
    # The next page is the AHT10's: its readings wake the thread now.
    assert refresh(polled)
    assert screen(polled).page == 1
    output.changed.clear()
    output.handle_reading(reading("aht10", temperature_celsius=20.0, at=polled.clock))
    assert output.changed.is_set()


def test_a_hand_held_over_the_sensor_is_one_tap(polled):
    output = polled.service.display.readings
    counts = []
    for proximity in (3, TAP, 2000, TAP + 1, TAP - 1, TAP, 4):
        output.handle_reading(reading("ltr559", proximity=proximity, at=polled.clock))
        counts.append(output.taps)
    assert counts == [0, 1, 1, 1, 1, 2, 2]
    # A hand over another board (a remote node's reading) is not a tap here.
    remote = dataclasses.replace(reading("ltr559", proximity=2000, at=polled.clock), source="node-kitchen")
    output.handle_reading(reading("ltr559", proximity=3, at=polled.clock))
    output.handle_reading(remote)
    assert output.taps == 2


def test_the_room_estimate_stands_in_for_the_cpu_warmed_value(polled):
    pages = polled.service.display.readings.pages
    bme280 = [page.key for page in pages if page.sensor == "bme280"]
    assert "temperature_compensated_celsius" in bme280
    assert "temperature_celsius" not in bme280
    assert "humidity_percent" not in bme280
    assert [page.sensor for page in pages if page.key == "temperature_celsius"] == ["aht10", "bmp280"]
    assert not any(page.key == "proximity" for page in pages)
    assert pages_for([]) == ()


def test_values_are_written_in_the_pages_unit_and_decimals():
    assert format_value(None, QUANTITY["temperature_celsius"]) == "-"
    assert format_value(21.349, QUANTITY["temperature_celsius"]) == "21.3"
    assert format_value(-0.04, QUANTITY["temperature_celsius"]) == "0.0"
    assert format_value(412_345.0, QUANTITY["reducing_ohms"]) == "412"
    assert format_value(1013.25, QUANTITY["pressure_hectopascals"]) == "1013.2"


def chart_tops(image: Image.Image) -> list[int | None]:
    """For each pixel column, the highest row of the chart that is drawn (None: empty)."""
    pixels = np.asarray(image.convert("RGB"))[CHART_TOP:CHART_BOTTOM]  # the floor line left out
    drawn = np.any(pixels != BACKGROUND, axis=-1)
    return [int(np.argmax(column)) if column.any() else None for column in drawn.T]


def test_the_chart_rises_and_falls_with_the_values():
    quantity = QUANTITY["temperature_celsius"]
    rising = tuple(18 + i * 0.05 for i in range(100))
    tops = chart_tops(render_page(PageContent("T", quantity, rising[-1], rising, None, (1, 1)), NOTO))
    drawn = [top for top in tops if top is not None]
    assert len(drawn) == 100  # one column per value, newest at the right
    # Columns 157 (the last inside the margin) back to 58; none before.
    assert tops[157] is not None and tops[58] is not None and tops[57] is None
    assert drawn == sorted(drawn, reverse=True)  # higher values, higher on the screen
    assert drawn[0] - drawn[-1] > 20
    falling = rising[::-1]
    tops = chart_tops(render_page(PageContent("T", quantity, falling[-1], falling, None, (1, 1)), NOTO))
    drawn = [top for top in tops if top is not None]
    assert drawn == sorted(drawn)


def test_the_chart_keeps_noise_flat_and_only_the_recent_values():
    # 0.1 degrees of noise spans a tenth of the chart's 1-degree minimum span.
    rows = chart_rows([21.0, 21.1, 21.0, 21.1], QUANTITY["temperature_celsius"].min_span, 31)
    assert max(rows) - min(rows) <= 4
    assert chart_rows([], 1.0, 31) == []
    many = tuple(float(i) for i in range(CHART_POINTS + 50))
    image = render_page(PageContent("T", QUANTITY["temperature_celsius"], many[-1], many, None, (1, 1)), NOTO)
    assert sum(top is not None for top in chart_tops(image)) == CHART_POINTS


# -- reference images ------------------------------------------------------------

WAVE = tuple(21.0 + 1.5 * math.sin(i / 15) for i in range(120))
# A reducing gas passing by: the resistance dips and recovers.
DIP = tuple(400_000.0 - 40_000.0 * math.exp(-((i - 40) ** 2) / 200) for i in range(60))
REFERENCE_PAGES = {
    "page_temperature": PageContent(
        "Temperature", QUANTITY["temperature_compensated_celsius"], WAVE[-1], WAVE, None, (1, 14)
    ),
    "page_pressure_stale": PageContent(
        "Pressure bme280",
        QUANTITY["pressure_hectopascals"],
        1013.46,
        tuple(1011.0 + i * 0.016 for i in range(CHART_POINTS)),
        "stale",
        (6, 14),
    ),
    "page_pm_missing": PageContent(
        "PM2.5", QUANTITY["pm2_5_atmospheric_micrograms_per_cubic_meter"], None, (), "failing", (10, 14)
    ),
    "page_gas": PageContent("Reducing gas", QUANTITY["reducing_ohms"], DIP[-1], DIP, None, (13, 14)),
}


@pytest.mark.parametrize("name", sorted(REFERENCE_PAGES))
def test_reproduces_the_reference_page(name):
    image = render_page(REFERENCE_PAGES[name], NOTO)
    path = REFERENCE / f"{name}.png"
    if os.environ.get("UPDATE_LCD_REFERENCE"):
        image.save(path)
    expected = Image.open(path).convert("RGB")
    assert ImageChops.difference(image, expected).getbbox() is None, (
        f"{path.name} differs; if the change is intended, regenerate with UPDATE_LCD_REFERENCE=1"
    )


def test_every_quantity_is_a_declared_field_with_a_sane_span():
    declared = {field.key for kind in registry.kinds().values() for field in kind.fields}
    for quantity in QUANTITIES:
        assert quantity.key in declared and quantity.min_span > 0
        assert isinstance(quantity, Quantity)


def test_page_titles_are_the_fields_labels_and_every_glyph_is_in_the_font():
    sensors = [Sensor(name, kind, kind.address, 1, kind.group) for name, kind in registry.kinds().items()]
    pages = pages_for(sensors)
    # Where two sensors have the quantity, the title names the sensor after the label.
    titles = {page.key: page.title.removesuffix(f" {page.sensor}") for page in pages}
    # The label without its qualifier: one value of its kind per page.
    assert titles["temperature_compensated_celsius"] == "Temperature"
    assert titles["pm2_5_atmospheric_micrograms_per_cubic_meter"] == "PM2.5"
    assert titles["nh3_ohms"] == "NH₃"
    assert titles["air_quality_index"] == "Air quality index"
    units = {page.key: page.quantity.unit for page in pages}
    assert units["illuminance_lux"] == "lx" and units["reducing_ohms"] == "kΩ"
    for page in pages:
        for char in page.title + (page.quantity.unit or ""):
            assert NOTO[0] is None or NOTO[0].covers(char) or char == " ", (page.title, char)
