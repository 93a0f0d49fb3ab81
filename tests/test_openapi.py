"""The OpenAPI spec and the docs page: they match the app, and real answers fit the schemas."""

from __future__ import annotations

import html.parser
import re
import urllib.parse

import pytest

from enviro_sensor.sensors.base import Field
from enviro_sensor.sensors.config import GroupConfig, Sensor
from enviro_sensor.sensors.registry import SensorKind
from enviro_sensor.web.sensor_schemas import schema_name, sensor_schemas
from tests.app_support import virtual_app
from tests.history_support import history_app, history_output, poll_for
from tests.node_support import doc_devices
from tests.openapi_support import SpecChecker, app_operations, spec_operations
from tests.sensor_support import PolledApp

GROUP_ROUTES = {
    "/api/sensors/weather": "/api/sensors/weather",
    "/api/sensors/gas": "/api/sensors/gas",
    "/api/sensors/pollution": "/api/sensors/pollution",
    "/api/sensors/particulates": "/api/sensors/particulates",
    "/api/sensors/i2c": "/api/sensors/i2c",
    "/api/sensors/i2c/aht10": "/api/sensors/i2c/{name}",
    "/api/sensors/i2c/bmp280": "/api/sensors/i2c/{name}",
    "/api/sensors/weather/bme280": "/api/sensors/weather/{name}",
    "/api/sensors/particulates/pms5003": "/api/sensors/particulates/{name}",
}
SERVICE_ROUTES = {
    "/": "/",
    "/healthz": "/healthz",
    "/metrics": "/metrics",
    "/api/sensors": "/api/sensors",
    "/api/outputs": "/api/outputs",
}


@pytest.fixture
def spec(client):
    reply = client.get("/apispec.json")
    assert reply.status_code == 200
    return reply.get_json()


def _walk(node, parts=()):
    """Every node of a JSON document with its path."""
    yield parts, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*parts, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*parts, str(index)))


class _AssetLinks(html.parser.HTMLParser):
    """The URLs a page loads by itself: scripts, stylesheets, icons, images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img") and attrs.get("src"):
            self.urls.append(attrs["src"])
        elif tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])


def asset_urls(page: str) -> list[str]:
    parser = _AssetLinks()
    parser.feed(page)
    # The page hands the spec's URL to Swagger UI in a script.
    return parser.urls + re.findall(r'\burl: "([^"]+)"', page)


# -- the spec against the app ---------------------------------------------------


def test_the_spec_is_openapi_3_and_names_no_host(client, spec):
    assert spec["openapi"].startswith("3.0.")
    assert spec["servers"] == [{"url": "/"}]
    assert "host" not in spec
    text = client.get("/apispec.json").get_data(as_text=True)
    assert "localhost" not in text
    assert "127.0.0.1" not in text


def test_every_route_is_documented_and_nothing_else(app, spec):
    assert spec_operations(spec) == app_operations(app)
    assert ("post", "/api/lcd") in spec_operations(spec)


def test_an_undocumented_route_is_noticed(registry):
    app = virtual_app(registry)

    @app.get("/api/extra")
    def extra():
        return {"result": "not in the spec"}

    spec = app.test_client().get("/apispec.json").get_json()
    assert app_operations(app) - spec_operations(spec) == {("get", "/api/extra")}


def test_every_reference_resolves(spec):
    checker = SpecChecker(spec)
    references = [parts for parts, node in _walk(spec) if isinstance(node, dict) and "$ref" in node]
    assert len(references) > 20
    for parts in references:
        checker.resolve(list(parts))  # a KeyError names the dangling reference


def test_every_example_fits_its_schema(spec):
    checker = SpecChecker(spec)
    checked = 0
    for parts, node in _walk(spec):
        if not isinstance(node, dict):
            continue
        if len(parts) > 1 and parts[-2] == "content" and "schema" in node:  # a media type
            examples = [node["example"]] if "example" in node else []
            examples += [example["value"] for example in node.get("examples", {}).values()]
            for example in examples:
                checker.validate(example, [*parts, "schema"])
                checked += 1
        elif "in" in node and "schema" in node and "example" in node:  # a parameter
            checker.validate(node["example"], [*parts, "schema"])
            checked += 1
        elif "type" in node and "example" in node:  # a schema with an example of its own
            checker.validate(node["example"], list(parts))
            checked += 1
    assert checked > 40


def test_sensor_values_are_documented_from_the_field_declarations(app, spec):
    schemas = spec["components"]["schemas"]
    readers = [sensor for group in app.extensions["enviro"].groups for sensor in group.sensors]
    assert {reader.name for reader in readers} == {
        "bme280",
        "ltr559",
        "mics6814",
        "pms5003",
        "aht10",
        "bmp280",
        "microphone",
    }
    for reader in readers:
        values = schemas[schema_name(reader.name, "Values")]
        assert list(values["properties"]) == [field.key for field in reader.fields]
        assert set(values["required"]) == {field.key for field in reader.fields if not field.optional}
        for field in reader.fields:
            documented = values["properties"][field.key]
            assert (documented["minimum"], documented["maximum"]) == (field.low, field.high)
            assert field.help in documented["description"]
            assert field.metric in documented["description"]


_ANEMOMETER = SensorKind(
    kind="anemometer",
    description="A wind sensor that exists only in this test",
    fields=(
        Field(
            "wind_speed_meters_per_second",
            0.0,
            60.0,
            "enviro_wind_speed_meters_per_second",
            "How fast the air moves.",
            label="Wind speed",
            unit="m/s",
        ),
    ),
    group="weather",
    reader=lambda sensor, settings, clock: None,  # never read: only documented
)


def test_a_new_field_is_documented_as_soon_as_it_is_declared():
    sensor = Sensor("anemometer", _ANEMOMETER, None, 1, "weather")
    schemas = sensor_schemas([GroupConfig("weather", "wind", 2.0, 10.0, True, (sensor,))])
    documented = schemas["AnemometerValues"]["properties"]["wind_speed_meters_per_second"]
    assert (documented["minimum"], documented["maximum"]) == (0.0, 60.0)
    # What a person reads first: the label and unit, then what the value is.
    assert documented["title"] == "Wind speed"
    assert documented["description"].startswith("Wind speed (m/s). How fast the air moves.")
    assert documented["example"] == 30.0  # no example declared: the middle of the range
    group = schemas["WeatherGroup"]["properties"]["result"]["properties"]["sensors"]
    assert group["required"] == ["anemometer"]


# -- real answers against the schemas ----------------------------------------------


def _answer(polled: PolledApp, checker: SpecChecker, method: str, url: str, path: str, **request) -> int:
    reply = polled.client.open(url, method=method, **request)
    checker.check_answer(method, path, reply.status_code, reply.mimetype, reply.get_json(silent=True))
    return reply.status_code


@pytest.fixture
def polled():
    app = PolledApp()
    yield app
    app.close()


@pytest.fixture
def checker(polled):
    return SpecChecker(polled.client.get("/apispec.json").get_json())


def test_answers_with_readings_fit_the_spec(polled, checker):
    polled.poll()
    routes = {**SERVICE_ROUTES, **GROUP_ROUTES}
    statuses = {url: _answer(polled, checker, "GET", url, path) for url, path in routes.items()}
    assert set(statuses.values()) == {200}
    html_answer = _answer(polled, checker, "GET", "/", "/", headers={"Accept": "text/html"})
    assert html_answer == 200
    missing = _answer(polled, checker, "GET", "/api/sensors/i2c/sht31", "/api/sensors/i2c/{name}")
    assert missing == 404


def test_answers_before_any_reading_fit_the_spec(polled, checker):
    statuses = {url: _answer(polled, checker, "GET", url, path) for url, path in GROUP_ROUTES.items()}
    assert set(statuses.values()) == {503}
    assert _answer(polled, checker, "GET", "/api/sensors", "/api/sensors") == 200


def test_answers_with_a_failing_sensor_fit_the_spec(checker):
    polled = PolledApp(faults={"bme280": "absent", "bmp280": "ioerror"})
    try:
        polled.poll()
        for url, path in {**SERVICE_ROUTES, **GROUP_ROUTES}.items():
            _answer(polled, checker, "GET", url, path)
        weather = polled.client.get("/api/sensors/weather").get_json()["result"]
        assert weather["status"] == "degraded"
        assert _answer(polled, checker, "GET", "/api/sensors/i2c/bmp280", "/api/sensors/i2c/{name}") == 503
    finally:
        polled.close()


def _lcd_answers(polled: PolledApp, checker: SpecChecker) -> list[int]:
    posts = [
        {"json": {"message": "Back at 3 pm", "color": "red", "background": "#ffff00"}},
        {"data": "plain text", "content_type": "text/plain"},
        {"json": {"message": " "}},
        {"data": "{", "content_type": "application/json"},
        {"json": {"message": "x" * 1001}},
        {"data": "x" * 20000, "content_type": "text/plain"},
        {"data": "<message/>", "content_type": "application/xml"},
    ]
    statuses = [_answer(polled, checker, "POST", "/api/lcd", "/api/lcd", **post) for post in posts]
    return [*statuses, _answer(polled, checker, "GET", "/api/lcd", "/api/lcd")]


def test_lcd_answers_fit_the_spec():
    polled = PolledApp(lcd="on")
    display = polled.app.extensions["enviro"].display
    try:
        display.start(polled.board)
        assert display.wait_started(30)
        checker = SpecChecker(polled.client.get("/apispec.json").get_json())
        assert _lcd_answers(polled, checker) == [200, 200, 400, 400, 400, 413, 415, 200]
    finally:
        display.stop()
        polled.close()


def test_lcd_answers_when_it_is_off_or_locked_fit_the_spec():
    polled = PolledApp(api_token="s3cret")
    try:
        checker = SpecChecker(polled.client.get("/apispec.json").get_json())
        assert _answer(polled, checker, "POST", "/api/lcd", "/api/lcd", json={"message": "hi"}) == 401
        authorised = {"Authorization": "Bearer s3cret"}
        posted = _answer(
            polled, checker, "POST", "/api/lcd", "/api/lcd", json={"message": "hi"}, headers=authorised
        )
        assert posted == 503  # the LCD is off
        assert _answer(polled, checker, "GET", "/api/lcd", "/api/lcd") == 503
    finally:
        polled.close()


# -- the docs page ---------------------------------------------------------------


def test_the_docs_page_loads_only_what_the_service_serves(client):
    reply = client.get("/api/docs")
    assert reply.status_code == 200
    assert reply.mimetype == "text/html"
    urls = asset_urls(reply.get_data(as_text=True))
    # The stylesheet, the icon, Swagger UI's bundle and the spec.
    assert len(urls) == 4, urls
    for url in urls:
        parts = urllib.parse.urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{url} is not on this server"
        assert client.get(url).status_code == 200, url


FORWARDED = {
    "X-Forwarded-Prefix": "/enviro",
    "X-Forwarded-Host": "pi.example:8080",
    "X-Forwarded-Proto": "https",
}


def test_behind_a_trusted_proxy_every_url_carries_its_prefix(registry):
    client = virtual_app(registry, trust_proxy=1).test_client()
    spec = client.get("/apispec.json", headers=FORWARDED).get_json()
    assert spec["servers"] == [{"url": "/enviro"}]
    urls = asset_urls(client.get("/api/docs", headers=FORWARDED).get_data(as_text=True))
    assert urls
    assert all(url.startswith("/enviro/") for url in urls), urls
    links = client.get("/", headers=FORWARDED).get_json()["result"]["links"]
    assert all(link.startswith("/enviro/") for link in links.values()), links
    # The same service answers a client that comes straight in, too.
    assert client.get("/apispec.json").get_json()["servers"] == [{"url": "/"}]


def test_without_trust_forwarded_headers_change_nothing(client):
    assert client.get("/apispec.json", headers=FORWARDED).get_json()["servers"] == [{"url": "/"}]
    page = client.get("/api/docs", headers=FORWARDED).get_data(as_text=True)
    assert "/enviro" not in page


# -- the history and pause routes ------------------------------------------------


def test_history_answers_fit_the_spec(tmp_path):
    polled = history_app(tmp_path)
    try:
        poll_for(polled, 5)
        history_output(polled).flush()
        checker = SpecChecker(polled.client.get("/apispec.json").get_json())
        series, export, archive = "/api/history", "/api/history/export", "/api/history/archive/{day}"
        answers = [
            ("/api/history?sensor=bme280&since=-1h&step=60", series, 200),
            (
                "/api/history?sensor=pms5003&field=pm2_5_micrograms_per_cubic_meter&field=pm10_micrograms_per_cubic_meter",
                series,
                200,
            ),
            ("/api/history?sensor=bme280&since=soon", series, 400),
            ("/api/history?sensor=bme280&step=1&since=-7d", series, 400),
            ("/api/history/export?since=-1h", export, 200),
            ("/api/history/export?since=-1h&format=jsonl&sensor=aht10", export, 200),
            ("/api/history/export?format=parquet", export, 400),
            ("/api/history/archive/2023-11-14", archive, 200),
            ("/api/history/archive/2023-11-01", archive, 404),
            ("/api/history/archive/2023-11-1", archive, 400),
        ]
        statuses = [_answer(polled, checker, "GET", url, path) for url, path, _ in answers]
        assert statuses == [status for _, _, status in answers]
        for group in ("weather", "particulates"):
            for verb in ("pause", "resume"):
                path = f"/api/sensors/{group}/{verb}"
                assert _answer(polled, checker, "POST", path, path) == 200
        cross = {"headers": {"Sec-Fetch-Site": "cross-site"}}
        path = "/api/sensors/gas/pause"
        assert _answer(polled, checker, "POST", path, path, **cross) == 403
    finally:
        polled.close()


def test_history_and_pause_refusals_fit_the_spec(checker, polled):
    off = _answer(polled, checker, "GET", "/api/history?sensor=bme280", "/api/history")
    assert off == 503
    assert _answer(polled, checker, "GET", "/api/history/export", "/api/history/export") == 503
    locked = PolledApp(api_token="s3cret", groups=("weather",))
    try:
        # The spec of the service that has the token: 401 is documented where it can happen.
        checker = SpecChecker(locked.client.get("/apispec.json").get_json())
        path = "/api/sensors/weather/pause"
        assert _answer(locked, checker, "POST", path, path) == 401
        path = "/api/sensors/gas/resume"
        assert _answer(locked, checker, "POST", path, path, headers={"Authorization": "Bearer s3cret"}) == 409
    finally:
        locked.close()


def test_node_answers_fit_the_spec(tmp_path):
    key = {"Authorization": "Bearer " + bytes(range(32)).hex()}
    good = {"sequence": 1, "battery_volts": 3.7, "values": {"bme280.temperature_celsius": 20.5}}
    accepting = PolledApp(nodes_file=doc_devices())  # no data directory: accepted, not stored
    try:
        checker = SpecChecker(accepting.client.get("/apispec.json").get_json())
        post = "/api/nodes/{node}/readings"
        assert (
            _answer(accepting, checker, "POST", "/api/nodes/kitchen/readings", post, json=good, headers=key)
            == 202
        )
    finally:
        accepting.close()
    polled = PolledApp(nodes_file=doc_devices(), data_dir=str(tmp_path))
    try:
        checker = SpecChecker(polled.client.get("/apispec.json").get_json())
        one, post = "/api/nodes/{node}", "/api/nodes/{node}/readings"
        key = {"Authorization": "Bearer " + bytes(range(32)).hex()}
        good = {"sequence": 1, "battery_volts": 3.7, "values": {"bme280.temperature_celsius": 20.5}}
        assert _answer(polled, checker, "GET", "/api/nodes", "/api/nodes") == 200
        assert _answer(polled, checker, "GET", "/api/nodes/kitchen", one) == 200  # before any packet
        pushes = [
            ({"json": good, "headers": key}, 200),
            ({"json": good, "headers": key}, 409),
            (
                {
                    "json": {**good, "sequence": 2, "values": {"bme280.temperature_celsius": 99}},
                    "headers": key,
                },
                422,
            ),
            ({"json": {"sequence": 3}, "headers": key}, 400),
            ({"data": "x", "content_type": "text/plain", "headers": key}, 415),
            ({"json": good}, 401),
            ({"json": good, "headers": {**key, "Sec-Fetch-Site": "cross-site"}}, 403),
        ]
        for request, status in pushes:
            assert _answer(polled, checker, "POST", "/api/nodes/kitchen/readings", post, **request) == status
        assert (
            _answer(polled, checker, "POST", "/api/nodes/attic/readings", post, json=good, headers=key) == 404
        )
        polled.settle()
        assert _answer(polled, checker, "GET", "/api/nodes/kitchen", one) == 200  # with readings
        assert _answer(polled, checker, "GET", "/api/nodes", "/api/nodes") == 200
        assert _answer(polled, checker, "GET", "/api/nodes/attic", one) == 404
    finally:
        polled.close()


# -- what a person reads in Swagger UI --------------------------------------------


def test_a_pause_summary_names_only_what_that_group_rests(spec):
    summaries = {
        path: operations["post"]["summary"]
        for path, operations in spec["paths"].items()
        if path.endswith("/pause")
    }
    assert set(summaries) == {
        f"/api/sensors/{g}/pause" for g in ("weather", "gas", "particulates", "i2c", "noise")
    }
    assert "the PMS5003's fan stops" in summaries["/api/sensors/particulates/pause"]
    for path, summary in summaries.items():
        if "particulates" not in path:
            assert "PMS5003" not in summary, path
            assert "()" not in summary, path


def test_no_summary_has_markdown_that_swagger_ui_would_show_as_it_is(spec):
    # Swagger UI renders descriptions as Markdown but shows summaries as plain text.
    found = [
        "/".join(parts)
        for parts, node in _walk(spec)
        if parts and parts[-1] == "summary" and isinstance(node, str) and "`" in node
    ]
    assert found == []


def _token_operations(spec) -> list[tuple[str, str]]:
    return [
        (path, method)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if any("apiToken" in entry for entry in operation.get("security", []))
    ]


def test_without_a_token_nothing_is_shown_as_locked(spec):
    assert _token_operations(spec) == []
    assert "apiToken" not in spec["components"]["securitySchemes"]
    assert "401" not in spec["paths"]["/api/lcd"]["post"]["responses"]
    # A node's own key is needed whatever the token.
    assert spec["paths"]["/api/nodes/{node}/readings"]["post"]["security"] == [{"nodeKey": []}]


def test_with_a_token_the_operations_that_need_it_require_it():
    polled = PolledApp(api_token="s3cret")
    try:
        spec = polled.client.get("/apispec.json").get_json()
    finally:
        polled.close()
    locked = _token_operations(spec)
    assert ("/api/lcd", "post") in locked and ("/api/sensors/noise/pause", "post") in locked
    assert len(locked) == 1 + 2 * 5  # the LCD, and pause and resume of each group
    for path, method in locked:
        assert spec["paths"][path][method]["security"] == [{"apiToken": []}]
        assert "401" in spec["paths"][path][method]["responses"]
