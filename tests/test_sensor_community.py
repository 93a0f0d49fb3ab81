"""sensor.community: each post checked against the documented format by a local stand-in server."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator

import pytest

from enviro_sensor.records import Reading
from tests.sensor_support import PolledApp
from tests.test_outputs import RecordingOutput

SENSOR_ID = "raspi-00000000c0ffee01"
# The push API as sensor.community documents it (and its own firmware sends):
# one request per sensor pin, X-Pin 1 a PM sensor (P1 = PM10, P2 = PM2.5),
# X-Pin 11 a BME280 (temperature C, humidity %, pressure Pa), values as strings.
VALUE_TYPES = {"1": {"P1", "P2"}, "11": {"temperature", "humidity", "pressure"}}


class StandIn(http.server.BaseHTTPRequestHandler):
    """Keeps every request; answers with the status the test sets."""

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.requests.append((self.path, dict(self.headers), self.rfile.read(length)))  # type: ignore[attr-defined]
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:  # quiet
        pass


@pytest.fixture
def stand_in() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    server.requests = []  # type: ignore[attr-defined]
    server.status = 201  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def community_app(server, recorder) -> PolledApp:
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/push-sensor-data/"
    return PolledApp(
        environ={"ENVIRO_SENSOR_COMMUNITY_ID": SENSOR_ID, "ENVIRO_SENSOR_COMMUNITY_URL": url},
        outputs=[recorder],
    )


def poll_for(polled: PolledApp, seconds: float) -> None:
    for _ in range(int(seconds / 5)):
        polled.clock.advance(4.8)  # poll() adds 0.2 per group
        polled.poll("weather", "particulates")


def test_every_145_s_the_window_mean_is_posted_in_the_documented_format(stand_in):
    recorder = RecordingOutput()
    polled = community_app(stand_in, recorder)
    try:
        poll_for(polled, 140)
        assert stand_in.requests == []  # not before 145 s
        poll_for(polled, 10)
        posts = stand_in.requests
        assert len(posts) == 2
        by_pin = {}
        for path, headers, body in posts:
            assert path == "/v1/push-sensor-data/"
            assert headers["Content-Type"] == "application/json"
            assert headers["X-Sensor"] == SENSOR_ID
            document = json.loads(body)
            assert set(document) == {"software_version", "sensordatavalues"}
            values = {item["value_type"]: item["value"] for item in document["sensordatavalues"]}
            assert all(set(item) == {"value_type", "value"} for item in document["sensordatavalues"])
            assert all(isinstance(value, str) for value in values.values())
            by_pin[headers["X-Pin"]] = {key: float(value) for key, value in values.items()}
        assert {pin: set(values) for pin, values in by_pin.items()} == VALUE_TYPES
        readings = [r for r in recorder.records if isinstance(r, Reading)]
        # The window closes with the first reading 145 s after the first one
        # (a BME280's: weather is polled first); later ones wait for the next post.
        closed = next(r.monotonic for r in readings if r.monotonic >= readings[0].monotonic + 145)
        readings = [r for r in readings if r.monotonic <= closed]

        def mean(sensor: str, key: str, factor: float = 1.0) -> float:
            values = [r.values[key] * factor for r in readings if r.sensor == sensor]
            return sum(values) / len(values)

        assert by_pin["1"]["P2"] == pytest.approx(
            mean("pms5003", "pm2_5_atmospheric_micrograms_per_cubic_meter"), abs=0.006
        )
        assert by_pin["1"]["P1"] == pytest.approx(
            mean("pms5003", "pm10_atmospheric_micrograms_per_cubic_meter"), abs=0.006
        )
        assert by_pin["11"]["pressure"] == pytest.approx(
            mean("bme280", "pressure_hectopascals", 100), abs=0.006
        )
        assert by_pin["11"]["temperature"] == pytest.approx(
            mean("bme280", "temperature_compensated_celsius"), abs=0.006
        )
        # Pressure in pascals, a room's temperature: the right units went out.
        assert 90000 < by_pin["11"]["pressure"] < 110000
        assert 10 < by_pin["11"]["temperature"] < 35
    finally:
        polled.close()


def test_failed_posts_are_counted_and_backed_off(stand_in):
    stand_in.status = 500
    recorder = RecordingOutput()
    polled = community_app(stand_in, recorder)
    try:
        poll_for(polled, 150)
        assert len(stand_in.requests) == 1  # the first pin failed: the rest waits too
        state = polled.client.get("/api/outputs").get_json()["result"]["outputs"]["sensor_community"]
        assert state["up"] is False and state["dropped"]["error"] == 1
        assert "HTTP 500" in state["last_error"]
        poll_for(polled, 150)
        assert len(stand_in.requests) == 1  # backed off: 290 s, not 145
        stand_in.status = 201
        poll_for(polled, 150)
        assert len(stand_in.requests) == 3
        state = polled.client.get("/api/outputs").get_json()["result"]["outputs"]["sensor_community"]
        assert state["up"] is True and state["connected"] is True
        assert (
            polled.client.get("/api/outputs").get_json()["result"]["outputs"]["recorder"]["dropped"]["error"]
            == 0
        )
    finally:
        polled.close()
