"""InfluxDB line protocol: real InfluxDB 1.x and VictoriaMetrics, and an outage bridged on disk."""

from __future__ import annotations

import pytest
import requests

from enviro_sensor.outputs.influx import BUFFER_NAME, line
from enviro_sensor.outputs.line_buffer import LineBuffer
from enviro_sensor.records import Reading
from tests.influx_servers import (
    influx_query,
    influxd,
    needs_influxd,
    needs_victoria,
    victoria,
    victoria_export,
)
from tests.sensor_support import PolledApp
from tests.servers import free_port
from tests.test_outputs import RecordingOutput


def test_a_reading_is_one_line_with_tags_escaped():
    reading = Reading(
        "local", "aht 10,x", "i2c", {"temperature_celsius": 21.5, "humidity_percent": 40}, 1.7e9, 0, 0
    )
    assert line(reading, "my pi") == (
        "enviro,host=my\\ pi,sensor=aht\\ 10\\,x temperature_celsius=21.5,humidity_percent=40.0 1700000000000"
    )


def test_a_full_buffer_drops_the_oldest_points_and_counts_them(tmp_path):
    buffer = LineBuffer(tmp_path / BUFFER_NAME, limit=100)
    assert buffer.add([f"m v={i} {i:020d}" for i in range(3)]) == 0  # 3 x 30 bytes
    assert buffer.add([f"m v={i} {i:020d}" for i in range(3, 6)]) == 3
    assert [item.split()[1] for item in buffer.lines()] == ["v=3", "v=4", "v=5"]
    assert buffer.count == 3 and buffer.size() <= 100
    # A partial last line (a power cut mid-append) is cut off when the file is
    # opened, so the next append cannot merge with it.
    with (tmp_path / BUFFER_NAME).open("a") as file:
        file.write("m v=6 0000")
    reopened = LineBuffer(tmp_path / BUFFER_NAME, limit=100)
    assert reopened.count == 3
    reopened.add(["m v=7 1"])
    assert [item.split()[1] for item in reopened.lines()][-2:] == ["v=5", "v=7"]


def readings_of(recorder: RecordingOutput) -> list[Reading]:
    return [r for r in recorder.records if isinstance(r, Reading)]


def influx_app(url: str, recorder: RecordingOutput, **environ: str) -> PolledApp:
    return PolledApp(environ={"ENVIRO_INFLUX_URL": url, **environ}, outputs=[recorder])


@pytest.mark.e2e
@needs_influxd
def test_influxdb_1_gets_every_reading_even_across_an_outage(tmp_path):
    server = influxd(tmp_path)
    server.start()
    recorder = RecordingOutput()
    polled = None
    try:
        requests.post(
            server.url + "/query", data={"q": "CREATE DATABASE enviro"}, timeout=10
        ).raise_for_status()
        polled = influx_app(
            server.url, recorder, ENVIRO_INFLUX_DB="enviro", ENVIRO_DATA_DIR=str(tmp_path / "data")
        )
        for _ in range(3):
            polled.clock.advance(10)  # FLUSH_SECONDS: one batch per round
            polled.poll("weather", "i2c")
        server.stop()
        for _ in range(5):  # the database is away: buffered on disk
            polled.clock.advance(10)
            polled.poll("weather", "i2c")
        state = polled.client.get("/api/outputs").get_json()["result"]["outputs"]["influxdb"]
        assert state["up"] is False and state["dropped"]["error"] == 0
        assert (tmp_path / "data" / "influx-buffer.lp").stat().st_size > 0
        assert state["sent"] > 0 and state["buffered"] > 0
        assert 'enviro_output_buffered{output="influxdb"}' in polled.client.get("/metrics").text
        server.start()
        polled.clock.advance(120)  # past the back-off
        polled.poll("weather", "i2c")
        polled.close()
        assert not (tmp_path / "data" / "influx-buffer.lp").exists()
        stored = influx_query(server, "enviro", "SELECT * FROM enviro")
        by_key = {(row["sensor"], row["time"]): row for row in stored}
        readings = readings_of(recorder)
        assert len(readings) == 9 * 4
        assert len(by_key) == len(readings)
        for reading in readings:
            row = by_key[(reading.sensor, round(reading.time * 1000))]
            assert row["host"]
            for key, value in reading.values.items():
                assert row[key] == value, (reading.sensor, key)
    finally:
        if polled is not None:
            polled.close()
        server.stop()


@pytest.mark.e2e
@needs_victoria
def test_victoria_metrics_through_the_v2_api(tmp_path):
    server = victoria(tmp_path)
    server.start()
    recorder = RecordingOutput()
    polled = influx_app(
        server.url,
        recorder,
        ENVIRO_INFLUX_ORG="home",
        ENVIRO_INFLUX_BUCKET="enviro",
        ENVIRO_INFLUX_TOKEN="secret",
    )
    try:
        for _ in range(3):
            polled.clock.advance(10)
            polled.poll("weather")
        polled.close()
        points = victoria_export(server)
        for reading in readings_of(recorder):
            for key, value in reading.values.items():
                assert points[(f"enviro_{key}", reading.sensor)][round(reading.time * 1000)] == value
    finally:
        polled.close()
        server.stop()


def test_a_database_that_is_not_there_costs_the_other_outputs_nothing(tmp_path):
    recorder = RecordingOutput()
    polled = influx_app(f"http://127.0.0.1:{free_port()}", recorder, ENVIRO_INFLUX_DB="enviro")
    try:
        for _ in range(10):
            polled.clock.advance(10)
            polled.poll("weather")
        states = polled.client.get("/api/outputs").get_json()["result"]["outputs"]
        assert states["http"]["sent"] == states["recorder"]["sent"] == len(recorder.records)
        assert states["influxdb"]["up"] is False
        metrics = polled.client.get("/metrics").text
        # 20 points, none sent: held for the server (the last one in the batch being gathered).
        assert 'enviro_output_buffered{output="influxdb"} 20.0' in metrics
        assert 'enviro_output_sent_total{output="influxdb"} 0.0' in metrics
    finally:
        polled.close()
