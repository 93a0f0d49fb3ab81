"""The Swagger page in headless Chromium, from a real gunicorn on the virtual board.

Debian's chromium, driven by playwright (which never downloads a browser
here). The page is loaded straight from gunicorn and through a reverse proxy
that serves the service under ``/enviro/``; either way it lists every
operation, "Try it out" reaches the service, and nothing comes from elsewhere.
"""

from __future__ import annotations

import json
import shutil
import time

import pytest
import requests

from tests.app_support import virtual_app
from tests.openapi_support import app_operations
from tests.prefix_proxy import prefix_proxy
from tests.servers import gunicorn_server

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)"
)

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)"),
]
# Root needs --no-sandbox; the rest keep Chromium off the network it cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PREFIX = "/enviro"


def _wait_for_reading(url: str, deadline_seconds: float = 30) -> None:
    deadline = time.monotonic() + deadline_seconds
    while requests.get(url, timeout=5).status_code != 200:
        assert time.monotonic() < deadline, f"{url} had no reading within {deadline_seconds} s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def service():
    # Trusting one proxy lets the proxied page learn its prefix.
    with gunicorn_server({"ENVIRO_WEATHER_INTERVAL": "0.2", "ENVIRO_TRUST_PROXY": "1"}) as (base, _):
        _wait_for_reading(base + "/api/sensors/weather")
        yield base


@pytest.fixture(scope="module")
def browser():
    # launch() gives every run a fresh temporary profile.
    with sync_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(params=["direct", "proxied"])
def site(request, service):
    """The base URL the page is opened from."""
    if request.param == "direct":
        yield service
    else:
        with prefix_proxy(service, PREFIX) as proxy:
            yield proxy + PREFIX


def test_the_docs_page_lists_every_operation_and_tries_one(browser, site, tmp_path):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    requested, failed, errors = [], [], []
    page.on("request", lambda req: requested.append(req.url))
    page.on("requestfailed", lambda req: failed.append(req.url))
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        page.goto(site + "/api/docs")
        page.locator(".opblock").first.wait_for()
        listed = {
            (
                block.locator(".opblock-summary-method").inner_text().lower(),
                block.locator("[data-path]").get_attribute("data-path"),
            )
            for block in page.locator(".opblock").all()
        }
        assert listed == app_operations(virtual_app())

        weather = page.locator(".opblock-get", has=page.locator('[data-path="/api/sensors/weather"]'))
        weather.locator(".opblock-summary").click()
        weather.get_by_role("button", name="Try it out").click()
        weather.get_by_role("button", name="Execute").click()
        answer = weather.locator(".live-responses-table .response")
        answer.wait_for()
        assert answer.locator(".response-col_status").inner_text().strip() == "200"
        assert weather.locator(".request-url").inner_text().strip() == site + "/api/sensors/weather"
        body = json.loads(answer.locator(".response-col_description pre").first.inner_text())
        assert body["result"]["group"] == "weather"
        assert "temperature_celsius" in body["result"]["sensors"]["bme280"]["values"]
        page.screenshot(path=tmp_path / "docs.png", full_page=True)
    finally:
        page.close()
    assert not errors
    assert not failed
    # Everything the page loaded, and the call it made, came from where the page came from.
    assert all(url.startswith(site + "/") for url in requested), requested
    assert site + "/apispec.json" in requested


def test_the_dashboard_shows_live_readings(browser, site):
    """A browser opening / gets the dashboard, filled from the JSON routes."""
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        page.goto(site + "/")
        weather = page.locator("section", has_text="weather")
        # The page fetches the readings itself; wait for the BME280's values.
        weather.get_by_text("temperature compensated").wait_for(timeout=15_000)
        text = weather.inner_text()
        assert "bme280" in text and "ltr559" in text
        assert "°C" in text and "hPa" in text and "lx" in text
        assert "read " in text and " s ago" in text
        assert page.locator("section").count() == 4  # weather, gas, particulates, i2c
        assert "cannot reach" not in page.inner_text("body")
    finally:
        page.close()
