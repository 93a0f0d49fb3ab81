"""End to end: what reaches the emulated ST7735 through the real st7735 driver.

The virtual panel decodes the driver's SPI traffic into the picture a person
would see; these tests compare it with the renderer's image pixel for pixel
(after RGB565 quantisation, which is all the panel stores).
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from enviro_sensor.hardware.board import PINS
from enviro_sensor.lcd import display as lcd_display
from enviro_sensor.lcd.render import Style, render
from enviro_sensor.lcd.startup import startup_message
from tests.app_support import virtual_app
from tests.lcd_support import differing_pixels
from tests.servers import gunicorn_server, wait_until_lcd_open
from tests.test_lcd_render import REFERENCE_MESSAGES

REFERENCE = Path(__file__).parent / "lcd_reference"


def started_app(registry, **settings):
    app = virtual_app(
        registry,
        start=True,
        host="127.0.0.1",
        port=8123,
        **settings,
    )
    assert app.extensions["enviro"].display.wait_started(30)
    return app


@pytest.fixture
def service_app(registry):
    app = started_app(registry)
    yield app
    app.extensions["enviro"].stop()


def panel_of(app):
    return app.extensions["enviro"].board


def backlight_on(app) -> bool:
    return panel_of(app).gpio.level(PINS["lcd_backlight"])


def test_the_start_up_screen_names_the_service_and_its_address(service_app):
    frame = panel_of(service_app).lcd_frame()
    expected = render(startup_message("127.0.0.1", 8123))
    assert expected.lines == ("enviro-sensor", "127.0.0.1:8123")
    assert differing_pixels(frame, expected.image) == 0
    assert backlight_on(service_app)


@pytest.mark.parametrize(
    "message",
    ["Hello, world!", "Grüße, Ελλάδα, Привет, 中文 😀", "one\ntwo\nthree", "x" * 400],
)
def test_a_posted_message_reaches_the_panel_pixel_for_pixel(service_app, message):
    response = service_app.test_client().post("/api/lcd", json={"message": message})
    assert response.status_code == 200
    frame = panel_of(service_app).lcd_frame()
    assert frame.size == (160, 80)
    assert differing_pixels(frame, render(message).image) == 0


def test_colours_reach_the_panel(service_app):
    body = {"message": "Alert", "color": "#ff0000", "background": "#ffff00"}
    assert service_app.test_client().post("/api/lcd", json=body).status_code == 200
    expected = render("Alert", Style(color=(255, 0, 0), background=(255, 255, 0))).image
    frame = panel_of(service_app).lcd_frame()
    assert differing_pixels(frame, expected) == 0
    assert frame.getpixel((0, 0)) == (255, 255, 0)  # yellow survives RGB565 exactly


@pytest.mark.parametrize("name", ["short", "long"])
def test_the_panel_shows_the_reference_image(service_app, name):
    # Latin text: the same glyphs whichever system fonts back up the packaged one.
    service_app.test_client().post("/api/lcd", json={"message": REFERENCE_MESSAGES[name]})
    reference = Image.open(REFERENCE / f"{name}.png")
    assert differing_pixels(panel_of(service_app).lcd_frame(), reference) == 0


def test_get_answers_what_the_panel_holds(service_app):
    client = service_app.test_client()
    client.post("/api/lcd", json={"message": "read me back"})
    png = client.get("/api/lcd")
    assert png.mimetype == "image/png"
    shown = Image.open(io.BytesIO(png.data)).convert("RGB")
    assert np.array_equal(np.asarray(shown), np.asarray(panel_of(service_app).lcd_frame()))
    assert differing_pixels(shown, render("read me back").image) == 0


def test_a_post_during_the_panels_set_up_waits_for_it(registry):
    app = virtual_app(registry, start=True)
    try:
        # The driver's set-up sleeps about a second; the request waits for it.
        response = app.test_client().post("/api/lcd", json={"message": "early"})
        assert response.status_code == 200
        assert differing_pixels(app.extensions["enviro"].board.lcd_frame(), render("early").image) == 0
    finally:
        app.extensions["enviro"].stop()


def test_the_backlight_goes_off_when_the_service_stops(registry):
    app = started_app(registry)
    app.test_client().post("/api/lcd", json={"message": "bye"})
    assert backlight_on(app)
    app.extensions["enviro"].stop()
    assert not backlight_on(app)
    frame = panel_of(app).lcd_frame()
    assert not np.asarray(frame).any()  # an unlit panel shows black


def test_a_missing_panel_answers_503_and_the_service_goes_on(registry):
    app = started_app(registry, virtual_faults="st7735=absent")
    try:
        client = app.test_client()
        response = client.post("/api/lcd", json={"message": "anyone?"})
        assert response.status_code == 503
        assert "could not be opened" in response.get_json()["error"]["message"]
        assert client.get("/api/lcd").status_code == 503
        assert client.get("/healthz").status_code == 200
        assert registry.get_sample_value("enviro_lcd_up") == 0
        assert registry.get_sample_value("enviro_lcd_errors_total", {"reason": "unavailable"}) == 1
    finally:
        app.extensions["enviro"].stop()


def test_a_panel_missing_at_start_is_tried_again_when_someone_draws(registry, monkeypatch):
    from enviro_sensor.lcd import display as lcd_display

    monkeypatch.setattr(lcd_display, "REOPEN_INTERVAL", 0.0)  # no waiting between attempts here
    app = started_app(registry, virtual_faults="st7735=absent")
    try:
        client = app.test_client()
        assert client.post("/api/lcd", json={"message": "anyone?"}).status_code == 503
        app.extensions["enviro"].board.faults.clear("st7735")  # the cable is reseated
        response = client.post("/api/lcd", json={"message": "found you"})
        assert response.status_code == 200, response.get_json()
        assert registry.get_sample_value("enviro_lcd_up") == 1
        assert client.get("/api/lcd").status_code == 200
    finally:
        app.extensions["enviro"].stop()


def test_a_panel_that_fails_answers_503_until_it_recovers(service_app, registry):
    client = service_app.test_client()
    faults = panel_of(service_app).faults
    faults.set("st7735", "ioerror")
    response = client.post("/api/lcd", json={"message": "lost"})
    assert response.status_code == 503
    assert "failed to draw" in response.get_json()["error"]["message"]
    assert registry.get_sample_value("enviro_lcd_errors_total", {"reason": "write_failed"}) == 1
    assert registry.get_sample_value("enviro_lcd_up") == 0
    faults.clear("st7735")
    assert client.post("/api/lcd", json={"message": "back"}).status_code == 200
    assert registry.get_sample_value("enviro_lcd_up") == 1
    assert differing_pixels(panel_of(service_app).lcd_frame(), render("back").image) == 0


def test_a_request_that_would_wait_too_long_for_the_panel_is_503(service_app, registry, monkeypatch):
    monkeypatch.setattr(lcd_display, "LOCK_TIMEOUT", 0.2)
    display = service_app.extensions["enviro"].display
    client = service_app.test_client()
    held = threading.Event()
    release = threading.Event()

    def hold_the_panel():
        with display._lock:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_panel)
    holder.start()
    try:
        assert held.wait(10)
        response = client.post("/api/lcd", json={"message": "hurry"})
        assert response.status_code == 503
        assert "busy" in response.get_json()["error"]["message"]
        assert client.get("/api/lcd").status_code == 503
    finally:
        release.set()
        holder.join()
    assert registry.get_sample_value("enviro_lcd_errors_total", {"reason": "busy"}) == 1
    assert client.post("/api/lcd", json={"message": "hurry"}).status_code == 200


@pytest.mark.e2e
def test_under_gunicorn_a_message_is_shown_and_the_light_goes_off_at_exit():
    token = "panel-token"
    with gunicorn_server({"ENVIRO_API_TOKEN": token}) as (base, process):
        refused = requests.post(
            f"{base}/api/lcd", data="hi", headers={"Content-Type": "text/plain"}, timeout=10
        )
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        wait_until_lcd_open(base)
        sent = requests.post(
            f"{base}/api/lcd",
            data=b"Hello from curl",
            headers={"Content-Type": "text/plain", "Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert sent.status_code == 200, sent.text
        assert " ".join(sent.json()["result"]["lines"]) == "Hello from curl"
        png = requests.get(f"{base}/api/lcd", timeout=10)
        shown = Image.open(io.BytesIO(png.content))
        assert differing_pixels(shown, render("Hello from curl").image) == 0
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "LCD backlight off" in output
