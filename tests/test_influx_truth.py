"""What the InfluxDB output says is what the server has: refusals, outages and a full disk.

``sent`` counts points the server acknowledged, ``buffered`` those held for
it; a server that refuses what it gets (a database that is not there) turns
the output down with the server's own words, and its points wait for a
person to fix it. A full disk during an outage keeps the batch in memory:
the buffer file holds whole lines only, and nothing is lost.
"""

from __future__ import annotations

import logging

import pytest
import requests

from enviro_sensor.hardware.virtual import ManualClock
from enviro_sensor.outputs.influx import BUFFER_NAME, FLUSH_SECONDS, InfluxOutput
from enviro_sensor.records import Reading
from tests.disk_support import fill, make_room, needs_root, small_disk
from tests.influx_servers import (
    influx_query,
    influxd,
    needs_influxd,
    needs_victoria,
    victoria,
    victoria_export,
)
from tests.servers import free_port
from tests.test_influx import influx_app, readings_of
from tests.test_outputs import RecordingOutput

# Each test starts a real program (a server, mount, or the service's command).
pytestmark = pytest.mark.e2e


def outputs_of(polled) -> dict:
    return polled.client.get("/api/outputs").get_json()["result"]["outputs"]


def metric_value(polled, name: str) -> float:
    for text in polled.client.get("/metrics").text.splitlines():
        if text.startswith(name + " "):
            return float(text.split()[-1])
    raise AssertionError(f"no {name} in /metrics")


@needs_influxd
def test_a_database_that_does_not_exist_turns_the_output_down_and_keeps_the_points(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="enviro_sensor.outputs")
    server = influxd(tmp_path)
    server.start()
    recorder = RecordingOutput()
    polled = influx_app(
        server.url, recorder, ENVIRO_INFLUX_DB="enviro", ENVIRO_DATA_DIR=str(tmp_path / "data")
    )
    try:
        for _ in range(5):  # five batches, each refused: the database is not there
            polled.clock.advance(FLUSH_SECONDS)
            polled.poll("weather", "i2c")
        state = outputs_of(polled)["influxdb"]
        points = len(readings_of(recorder))
        assert state["up"] is False
        assert state["sent"] == 0
        assert "database not found" in state["last_error"]
        assert state["last_error_at"].endswith("Z")
        assert state["buffered"] == points and sum(state["dropped"].values()) == 0
        assert metric_value(polled, 'enviro_output_sent_total{output="influxdb"}') == 0
        assert metric_value(polled, 'enviro_output_buffered{output="influxdb"}') == points
        down = [r for r in caplog.records if "influxdb" in r.getMessage() and r.levelno >= logging.WARNING]
        assert len(down) == 1, [r.getMessage() for r in down]  # one line for the outage, not one a batch
        assert "database not found" in down[0].getMessage()

        requests.post(server.url + "/query", data={"q": "CREATE DATABASE enviro"}, timeout=10)
        polled.clock.advance(120)  # past the back-off
        polled.poll("weather", "i2c")
        polled.clock.advance(FLUSH_SECONDS)
        polled.poll("weather", "i2c")
        state = outputs_of(polled)["influxdb"]
        assert state["up"] is True
        stored = influx_query(server, "enviro", "SELECT * FROM enviro")
        assert state["sent"] + state["buffered"] == len(readings_of(recorder))
        assert len(stored) == state["sent"] > points
        back = [r.getMessage() for r in caplog.records if "influxdb is back" in r.getMessage()]
        assert len(back) == 1 and f"sent {points} from its buffer" in back[0] and "dropped 0" in back[0]
    finally:
        polled.close()
        server.stop()


def test_points_held_during_an_outage_are_buffered_not_sent(tmp_path):
    recorder = RecordingOutput()
    polled = influx_app(f"http://127.0.0.1:{free_port()}", recorder, ENVIRO_INFLUX_DB="enviro")
    try:
        for _ in range(6):
            polled.clock.advance(FLUSH_SECONDS)
            polled.poll("weather")
        state = outputs_of(polled)["influxdb"]
        assert state["sent"] == 0
        assert state["buffered"] == len(readings_of(recorder)) > 0
        assert "Connection refused" in state["last_error"] or "connect" in state["last_error"].lower()
        assert state["last_error_at"]
    finally:
        polled.close()


def point(index: int) -> Reading:
    values = {"temperature_celsius": 20 + index / 100, "humidity_percent": 40 + index / 100}
    return Reading("probe", "bme280", "weather", values, 1_700_000_000 + index, 0, 0)


@needs_root
@needs_victoria
def test_a_full_disk_during_an_outage_loses_and_tears_nothing(tmp_path):
    server = victoria(tmp_path / "vm")
    clock = ManualClock(0.0)
    with small_disk(tmp_path / "data") as data:
        output = InfluxOutput(server.url, clock, db="enviro", data_dir=str(data), host="probe")
        output.start({})
        total = 300
        for index in range(total):
            if index == 100:
                fill(data, leave=2048)  # room for a batch or so, then none
            output.handle_reading(point(index))
            clock.advance(0.5)  # a batch every 20 points
        buffer = data / BUFFER_NAME
        text = buffer.read_text()
        assert text.endswith("\n")
        lines = text.splitlines()
        assert all(line.startswith("enviro,host=probe,node=probe,sensor=bme280 ") for line in lines)
        assert all(len(line.split(" ")) == 3 for line in lines)  # no line merged into another
        account = output.account()
        assert account.buffered == total and account.sent == 0 and sum(account.dropped.values()) == 0
        assert "No space left on device" in (output.buffer_error or "")
        assert "cannot reach" in (account.refusal or "")

        make_room(data)
        server.start()
        try:
            clock.advance(120)
            output.flush()
            output.close()
            points = victoria_export(server)[("enviro_temperature_celsius", "bme280")]
            assert len(points) == total
            account = output.account()
            assert account.sent == total and account.buffered == 0
            assert not buffer.exists() or buffer.stat().st_size == 0
        finally:
            server.stop()
