"""The Swagger page in headless Chromium, from a real gunicorn on the virtual board.

Debian's chromium, driven by playwright (which never downloads a browser
here). The page is loaded straight from gunicorn and through a reverse proxy
that serves the service under ``/enviro/``; either way it lists every
operation, "Try it out" reaches the service, and nothing comes from elsewhere.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import shutil
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from swagger_ui_bundle import swagger_ui_path

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
        assert weather.locator(".request-url pre").inner_text().strip() == site + "/api/sensors/weather"
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
        weather.get_by_text("Temperature (compensated)").wait_for(timeout=15_000)
        text = weather.inner_text()
        assert "bme280" in text and "ltr559" in text
        assert "°C" in text and "hPa" in text and "lx" in text
        assert "read " in text and " s ago" in text
        assert page.locator("#groups section").count() == 5  # weather, gas, particulates, i2c, noise
        assert "cannot reach" not in page.inner_text("body")
    finally:
        page.close()


@contextlib.contextmanager
def _other_site(files: dict[str, tuple[str, str]]) -> Iterator[tuple[str, list[str]]]:
    """A site on another loopback port serving ``files`` (path: (type, text)); yields its URL and the paths asked."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            kind, text = files.get(self.path.split("?")[0], ("text/plain", "not here"))
            body = text.encode()
            self.send_response(200 if self.path.split("?")[0] in files else 404)
            self.send_header("Content-Type", kind)
            self.send_header("Access-Control-Allow-Origin", "*")  # as an attacker's spec host would
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()


EVIL_SPEC = json.dumps(
    {
        "openapi": "3.0.3",
        "info": {"title": "Evil API", "version": "6.6.6"},
        "servers": [{"url": "http://127.0.0.1:9/"}],
        "paths": {"/steal": {"get": {"responses": {"200": {"description": "ok"}}}}},
    }
)


def test_the_docs_page_ignores_a_spec_named_in_its_address(browser, service):
    with _other_site({"/spec.json": ("application/json", EVIL_SPEC)}) as (evil, asked):
        page = browser.new_page()
        requested = []
        page.on("request", lambda req: requested.append(req.url))
        try:
            page.goto(f"{service}/api/docs?url={evil}/spec.json&configUrl={evil}/config.json")
            page.locator(".opblock").first.wait_for()
            title = page.locator(".info .title").inner_text()
            version = page.evaluate("window.versions.swaggerUI.version")
        finally:
            page.close()
    assert "enviro-sensor API" in title and "Evil" not in title
    assert not asked, asked
    assert not [url for url in requested if url.startswith(evil)]
    # The current swagger-ui build from its package, not flasgger's 2020 one.
    assert version == swagger_ui_path.name.removeprefix("swagger-ui-")


def test_a_page_from_another_site_cannot_draw_on_the_lcd(browser, service):
    def lcd_messages() -> float:
        metrics = requests.get(service + "/metrics", timeout=5).text
        line = next(line for line in metrics.splitlines() if line.startswith("enviro_lcd_messages_total"))
        return float(line.split()[-1])

    attack = f"""<!doctype html><title>cat pictures</title>
    <form id="form" method="post" action="{service}/api/lcd" enctype="text/plain">
      <input name='{{"message": "form", "x":"' value='"}}'></form>
    <script>
      fetch("{service}/api/lcd", {{method: "POST", mode: "no-cors",
        headers: {{"Content-Type": "text/plain"}}, body: "pwned"}})
        .finally(() => {{ document.title = "sent"; document.getElementById("form").submit(); }});
    </script>"""
    before = lcd_messages()
    with _other_site({"/": ("text/html", attack)}) as (evil, _):
        page = browser.new_page()
        try:
            with page.expect_navigation(url=f"{service}/api/lcd"):
                page.goto(evil + "/")
            refused = json.loads(page.locator("body").inner_text())
        finally:
            page.close()
    assert refused["error"]["status"] == 403
    assert lcd_messages() == before
    # The service's own page may: the Swagger page's "Try it out" is same-origin.
    page = browser.new_page()
    try:
        page.goto(service + "/api/docs")
        answer = page.evaluate(
            """async (url) => {
                const r = await fetch(url, {method: "POST", headers: {"Content-Type": "text/plain"}, body: "hi"});
                return r.status;
            }""",
            service + "/api/lcd",
        )
    finally:
        page.close()
    assert answer in (200, 503)


def test_the_docs_page_shows_no_markdown_as_it_is_and_no_lock_without_a_token(browser, service):
    # The service runs without ENVIRO_API_TOKEN: nothing it serves needs one.
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        page.goto(service + "/api/docs")
        page.locator(".opblock").first.wait_for()
        listed = page.locator("body").inner_text()
        assert "`" not in listed
        assert (
            "(the PMS5003's fan stops)"
            in page.locator(
                ".opblock", has=page.locator('[data-path="/api/sensors/particulates/pause"]')
            ).inner_text()
        )
        weather_pause = page.locator(".opblock", has=page.locator('[data-path="/api/sensors/weather/pause"]'))
        assert "PMS5003" not in weather_pause.inner_text()
        # Locks only where a key is always needed: a node's own readings.
        locked = page.locator(".opblock", has=page.locator(".authorization__btn"))
        paths = {block.locator("[data-path]").get_attribute("data-path") for block in locked.all()}
        assert paths == {"/api/nodes/{node}/readings"}, paths
    finally:
        page.close()
