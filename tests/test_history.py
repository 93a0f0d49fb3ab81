"""The history: batched writes to a real SQLite file, and the routes that read it."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import tarfile

import pytest

from enviro_sensor.history.database import SCHEMA_VERSION, connect, path_in
from enviro_sensor.history.writer import HistoryWriter, Limits
from tests.history_support import FLUSH, history_app, history_output, poll_for


@pytest.fixture
def polled(tmp_path):
    app = history_app(tmp_path)
    yield app
    app.close()


def _count(tmp_path, table="raw") -> int:
    db = sqlite3.connect(path_in(tmp_path))
    try:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        db.close()


def test_readings_are_written_in_batches_when_the_clock_says(polled, tmp_path):
    poll_for(polled, 10)
    assert _count(tmp_path) == 0, "written before ENVIRO_HISTORY_FLUSH seconds passed"
    polled.clock.advance(FLUSH)
    polled.poll("weather")  # the first record after the interval brings the batch
    written = _count(tmp_path)
    assert written > 10 * 10
    poll_for(polled, 10)
    assert _count(tmp_path) == written
    assert history_output(polled).batches == 1
    db = sqlite3.connect(path_in(tmp_path))
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_history_answers_min_mean_max_per_step(polled):
    poll_for(polled, 30)
    history_output(polled).flush()
    reply = polled.client.get(
        "/api/history?sensor=bme280&field=temperature_celsius&since=-1h&until=now&step=10"
    )
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()["result"]
    assert body["step_seconds"] == 10
    [series] = body["series"]
    assert (series["sensor"], series["field"], series["unit"]) == ("bme280", "temperature_celsius", "°C")
    points = series["points"]
    assert len(points) >= 3
    starts = [point["time"] for point in points]
    assert starts == sorted(starts) and all(t[17:19] in ("00", "10", "20", "30", "40", "50") for t in starts)
    for point in points:
        assert point["min"] <= point["mean"] <= point["max"]
        assert point["min"] >= -40 and point["max"] <= 85
    latest = polled.client.get("/api/sensors/weather/bme280").get_json()["result"]["values"]
    assert points[-1]["min"] <= latest["temperature_celsius"] <= points[-1]["max"]


def test_long_steps_come_from_the_5_minute_rollups(polled):
    poll_for(polled, 20)
    history_output(polled).flush()
    every_field = polled.client.get("/api/history?sensor=bme280&since=-1d").get_json()["result"]
    assert every_field["step_seconds"] == 300  # chosen: about 300 points a day
    fields = {s["field"] for s in every_field["series"]}
    assert "pressure_hectopascals" in fields and "temperature_celsius" in fields
    raw = polled.client.get(
        "/api/history?sensor=bme280&field=humidity_percent&since=-1h&step=3600"
    ).get_json()
    [series] = raw["result"]["series"]
    assert len(series["points"]) in (1, 2)  # the 20 s may straddle an hour


BAD_QUERIES = [
    ("", "sensor is missing"),
    ("sensor=nope", "unknown sensor 'nope'"),
    ("sensor=bme280&field=lux", "unknown field 'lux'"),
    ("sensor=bme280&since=yesterday", "since: 'yesterday' is neither"),
    ("sensor=bme280&until=2026-13-45", "until:"),
    ("sensor=bme280&since=now&until=-1h", "since must be earlier than until"),
    ("sensor=bme280&step=0", "step: expected 1 to"),
    ("sensor=bme280&step=abc", "step: expected a whole number"),
    ("sensor=bme280&since=-30d&step=10", "points per series"),
    ("sensor=bme280&since=-999999999w", "longer than 20 years"),
    ("sensor=bme280&since=9999-12-31T23:59:59%2B14:00", "since must be earlier"),
    ("sensor=bme280&colour=red", "unknown parameter 'colour'"),
    ("sensor=bme280&since=%00", "since:"),
]


@pytest.mark.parametrize(("query", "message"), BAD_QUERIES)
def test_bad_queries_are_400_saying_what_is_wrong(polled, query, message):
    reply = polled.client.get(f"/api/history?{query}")
    assert reply.status_code == 400
    assert message in reply.get_json()["error"]["message"]


def test_iso_times_are_accepted(polled):
    reply = polled.client.get(
        "/api/history?sensor=ltr559&since=2023-11-14T00:00:00Z&until=2023-11-16T00:00:00%2B01:00"
    )
    assert reply.status_code == 200
    assert reply.get_json()["result"]["since"] == "2023-11-14T00:00:00.000Z"


def test_export_streams_every_value_as_csv_or_json_lines(polled, tmp_path):
    poll_for(polled, 10)
    history_output(polled).flush()
    reply = polled.client.get("/api/history/export?since=-1h")
    assert reply.status_code == 200
    assert reply.is_streamed
    assert reply.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(reply.get_data(as_text=True))))
    assert len(rows) == _count(tmp_path)
    assert {"bme280", "pms5003", "aht10"} <= {row["sensor"] for row in rows}
    assert all(row["min"] == row["mean"] == row["max"] and row["count"] == "1" for row in rows)
    # Each value's label and unit as declared: what a spreadsheet user reads.
    shown = {(row["sensor"], row["field"]): (row["label"], row["unit"]) for row in rows}
    assert shown["pms5003", "pm2_5_micrograms_per_cubic_meter"] == ("PM2.5", "µg/m³")
    assert shown["bme280", "temperature_compensated_celsius"] == ("Temperature (compensated)", "°C")
    assert shown["ltr559", "proximity"] == ("Proximity", "")
    lines = polled.client.get(
        "/api/history/export?since=-1h&format=jsonl&sensor=aht10&field=humidity_percent"
    )
    records = [json.loads(line) for line in lines.get_data(as_text=True).splitlines()]
    assert records and {(r["sensor"], r["field"]) for r in records} == {("aht10", "humidity_percent")}
    assert {(r["label"], r["unit"]) for r in records} == {("Humidity", "%")}
    assert polled.client.get("/api/history/export?format=xml").status_code == 400


def test_a_day_is_archived_as_json_lines_per_sensor(polled):
    poll_for(polled, 5)
    history_output(polled).flush()
    day = "2023-11-14"  # the test clock's day
    reply = polled.client.get(f"/api/history/archive/{day}")
    assert reply.status_code == 200, reply.get_json()
    assert reply.mimetype == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(reply.data), mode="r:gz") as tar:
        names = tar.getnames()
        assert f"{day}/bme280.jsonl" in names and f"{day}/pms5003.jsonl" in names
        member = tar.extractfile(f"{day}/bme280.jsonl")
        assert member is not None
        records = [json.loads(line) for line in member.read().splitlines()]
    assert len(records) == 5
    assert records[0]["time"].startswith(day)
    assert "temperature_celsius" in records[0]["values"]
    assert polled.client.get("/api/history/archive/2023-11-15").status_code == 404
    for bad in ("2023-13-01", "yesterday", "2023-02-30"):
        reply = polled.client.get(f"/api/history/archive/{bad}")
        assert reply.status_code == 400, bad
        assert "YYYY-MM-DD" in reply.get_json()["error"]["message"]


def test_without_a_data_dir_there_is_no_history(client):
    for route in ("/api/history?sensor=bme280", "/api/history/export", "/api/history/archive/2026-01-01"):
        reply = client.get(route)
        assert reply.status_code == 503
        assert "ENVIRO_DATA_DIR" in reply.get_json()["error"]["message"]
    assert "history" not in client.get("/api/outputs").get_json()["result"]["outputs"]


def test_old_values_expire_and_rollups_outlive_them(tmp_path):
    polled = history_app(tmp_path, history_raw_days=1.0, history_days=2.0)
    try:
        poll_for(polled, 5, "weather")
        history_output(polled).flush()
        raw, rollups = _count(tmp_path), _count(tmp_path, "rollup")
        assert raw and rollups
        polled.clock.advance(1.5 * 86400)
        poll_for(polled, 1, "weather")
        history_output(polled).flush()
        assert _count(tmp_path) < raw  # the first day's raw values are gone
        assert _count(tmp_path, "rollup") > rollups  # their rollups are kept
        polled.clock.advance(86400)
        history_output(polled).flush()
        poll_for(polled, 1, "weather")
        history_output(polled).flush()
        db = sqlite3.connect(path_in(tmp_path))
        oldest = db.execute("SELECT min(bucket) FROM rollup").fetchone()[0]
        assert oldest >= polled.clock.now() - 2 * 86400 - 300
    finally:
        polled.close()


def test_the_size_cap_drops_the_oldest_days(tmp_path):
    cap = 1024 * 1024
    writer = HistoryWriter(path_in(tmp_path), Limits(raw_days=7, days=400, max_bytes=cap), "x")
    day0 = 1_700_000_000.0
    try:
        for day in range(30):
            values = [
                ("bme280", "temperature_celsius", day0 + day * 86400 + i * 10.0, 20 + i % 5)
                for i in range(4000)
            ]
            writer.write(values, [])
            size = sum(p.stat().st_size for p in tmp_path.iterdir())
            assert size <= cap, f"day {day}: {size} bytes"
        days = writer.db.execute(
            "SELECT count(DISTINCT (time_ms / 1000 - ?) / 86400) FROM raw", (int(day0),)
        ).fetchone()[0]
        assert 1 <= days < 30
        newest = writer.db.execute("SELECT max(time_ms) FROM raw").fetchone()[0]
        assert newest == round((day0 + 29 * 86400 + 39990) * 1000)  # the newest batch is always kept
    finally:
        writer.close()


def test_a_corrupt_file_is_moved_aside_with_one_log_line(tmp_path, caplog):
    path = path_in(tmp_path)
    path.write_bytes(b"this is not SQLite" * 500)
    polled = history_app(tmp_path)
    try:
        poll_for(polled, 2, "weather")
        history_output(polled).flush()
        aside = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
        assert len(aside) == 1
        assert aside[0].read_bytes().startswith(b"this is not SQLite")
        warnings = [r for r in caplog.records if r.name == "enviro_sensor.history.database"]
        assert len(warnings) == 1 and "corrupt" in warnings[0].getMessage()
        assert connect(path).execute("SELECT count(*) FROM raw").fetchone()[0] > 0
    finally:
        polled.close()
