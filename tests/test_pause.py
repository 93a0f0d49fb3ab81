"""Pausing and resuming a sensor group over HTTP: polling stops, the PMS5003's fan stops, history shows why."""

from __future__ import annotations

import pytest

from enviro_sensor.hardware.board import PINS
from tests.history_support import history_app, history_output, poll_for
from tests.sensor_support import PolledApp


@pytest.fixture
def polled(tmp_path):
    app = history_app(tmp_path)
    yield app
    app.close()


def _fan_on(polled: PolledApp) -> bool:
    return polled.board.gpio.level(PINS["pms5003_enable"])


def _paused_metric(polled: PolledApp, sensor: str) -> float:
    [sample] = [
        s
        for s in polled.metric_samples()
        if s.name == "enviro_sensor_paused" and s.labels["sensor"] == sensor
    ]
    return sample.value


def test_pausing_particulates_stops_polling_and_the_fan(polled):
    polled.poll("particulates")
    assert _fan_on(polled)
    reply = polled.client.post("/api/sensors/particulates/pause")
    assert reply.status_code == 200
    assert reply.get_json() == {"result": {"group": "particulates", "paused": True}}
    polled.poll("particulates")  # the group's own thread tells the part
    assert not _fan_on(polled)
    body = polled.client.get("/api/sensors/particulates").get_json()["result"]
    assert body["sensors"]["pms5003"]["status"] == "paused"
    assert _paused_metric(polled, "pms5003") == 1.0
    assert _paused_metric(polled, "bme280") == 0.0
    before = polled.client.get("/api/sensors/particulates/pms5003").get_json()["result"]["time"]
    polled.poll("particulates")
    assert polled.client.get("/api/sensors/particulates/pms5003").get_json()["result"]["time"] == before

    assert polled.client.post("/api/sensors/particulates/resume").status_code == 200
    polled.poll("particulates")
    assert _fan_on(polled)
    assert _paused_metric(polled, "pms5003") == 0.0
    polled.poll("particulates")
    after = polled.client.get("/api/sensors/particulates/pms5003").get_json()["result"]
    assert after["time"] != before


def test_the_history_shows_the_gap_and_why(polled):
    poll_for(polled, 20, "weather")
    polled.client.post("/api/sensors/weather/pause")
    poll_for(polled, 40, "weather")
    polled.client.post("/api/sensors/weather/resume")
    poll_for(polled, 20, "weather")
    history_output(polled).flush()
    body = polled.client.get(
        "/api/history?sensor=bme280&field=temperature_celsius&since=-5m&step=10"
    ).get_json()
    times = [p["time"] for p in body["result"]["series"][0]["points"]]
    assert 3 <= len(times) <= 6  # 40 s of 80 have no points
    statuses = [e["status"] for e in body["result"]["events"]]
    assert "paused" in statuses
    assert statuses[-1] == "ok"


def test_pause_needs_the_token_when_one_is_set():
    polled = PolledApp(api_token="s3cret")
    try:
        reply = polled.client.post("/api/sensors/gas/pause")
        assert reply.status_code == 401
        assert "pausing a sensor group needs the API token" in reply.get_json()["error"]["message"]
        wrong = polled.client.post("/api/sensors/gas/pause", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = polled.client.post("/api/sensors/gas/pause", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
    finally:
        polled.close()


def test_a_page_from_another_site_cannot_pause(polled):
    reply = polled.client.post("/api/sensors/weather/pause", headers={"Sec-Fetch-Site": "cross-site"})
    assert reply.status_code == 403
    polled.poll("weather")
    assert (
        polled.client.get("/api/sensors/weather").get_json()["result"]["sensors"]["bme280"]["status"] == "ok"
    )


def test_a_disabled_group_cannot_be_paused():
    polled = PolledApp(groups=("weather",))
    try:
        reply = polled.client.post("/api/sensors/gas/pause")
        assert reply.status_code == 409
        assert "disabled" in reply.get_json()["error"]["message"]
    finally:
        polled.close()
