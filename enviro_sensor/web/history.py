"""``/api/history``: series over a time range, exports, and daily archives, read from the history store.

Each request reads the SQLite file on a read-only connection of its own
(``enviro_sensor.history.reader``); nothing here waits on the history output or the
hardware. Bad parameters are 400 with what is wrong; a service without
ENVIRO_DATA_DIR answers 503.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import gzip
import io
import json
import re
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, send_file

from enviro_sensor.history.database import path_in
from enviro_sensor.history.reader import ExportRow, HistoryReader
from enviro_sensor.nodes.fields import BATTERY_SENSOR, BATTERY_VOLTS
from enviro_sensor.outputs.history import series_sensor
from enviro_sensor.records import iso_utc
from enviro_sensor.sensors.base import Field
from enviro_sensor.web.errors import error_response
from enviro_sensor.web.history_params import Series, check_known, parse_fields, parse_range, parse_step

blueprint = Blueprint("history", __name__, url_prefix="/api/history")

DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
# label and unit: the field's as declared, for a person opening the file in
# a spreadsheet (empty for a field no longer declared).
EXPORT_COLUMNS = ("time", "sensor", "field", "label", "unit", "min", "mean", "max", "count")
# Archives are built in memory up to this size, then in a temporary file.
SPOOL_BYTES = 4 * 1024 * 1024


def _store() -> Path | None:
    data_dir = current_app.extensions["enviro"].data_dir
    return path_in(data_dir) if data_dir else None


def _off() -> Response:
    return error_response(503, "the history is off: set ENVIRO_DATA_DIR to keep one")


@dataclasses.dataclass(frozen=True)
class RemoteSeries:
    """A remote node's sensor as the history names it (``kitchen/bme280``)."""

    name: str
    fields: tuple[Field, ...]


def history_sensors(service: Any) -> dict[str, Series]:
    """The local sensors, then every remote node's sensors (``<node>/<sensor>``)."""
    sensors: dict[str, Series] = dict(service.latest.sensors())
    for device in service.nodes.devices.values():
        for sensor, fields in {**device.sensors(), BATTERY_SENSOR: (BATTERY_VOLTS,)}.items():
            name = series_sensor(device.name, sensor)
            sensors[name] = RemoteSeries(name, fields)
    return sensors


def _units() -> dict[tuple[str, str], str | None]:
    sensors = history_sensors(current_app.extensions["enviro"])
    return {(s.name, f.key): f.unit for s in sensors.values() for f in s.fields}


def _labels(service: Any) -> dict[tuple[str, str], tuple[str, str]]:
    """Each series field's label and unit ("" for none)."""
    sensors = history_sensors(service)
    return {(s.name, f.key): (f.label, f.unit or "") for s in sensors.values() for f in s.fields}


@blueprint.get("")
def series() -> Response:
    """Sensor fields over a time range, as min, mean and max per step.

    `since` and `until` take ISO 8601 (UTC unless it says otherwise) or times
    relative to now (`-30m`, `-24h`, `-7d`, `now`). Steps under 300 s come from
    raw values (kept ENVIRO_HISTORY_RAW_DAYS), longer ones from 5-minute rollups.
    A step with no values has no point: a paused or failing sensor shows as a
    gap, and `events` says why.
    ---
    tags: [history]
    parameters:
      - $ref: "#/components/parameters/HistorySensor"
      - $ref: "#/components/parameters/HistoryField"
      - $ref: "#/components/parameters/HistorySince"
      - $ref: "#/components/parameters/HistoryUntil"
      - $ref: "#/components/parameters/HistoryStep"
    responses:
      200: {$ref: "#/components/responses/History"}
      400: {$ref: "#/components/responses/HistoryBadRequest"}
      503: {$ref: "#/components/responses/HistoryOff"}
    """
    path = _store()
    if path is None:
        return _off()
    service = current_app.extensions["enviro"]
    args = request.args
    try:
        check_known(args, ("sensor", "field", "since", "until", "step"))
        span = parse_range(args, service.clock.now(), "-24h")
        step = parse_step(args.get("step"), span.until - span.since)
        pairs = parse_fields(
            args.getlist("sensor"), args.getlist("field"), history_sensors(service), need_sensor=True
        )
    except ValueError as err:
        return error_response(400, str(err))
    units = _units()
    try:
        body = _series_body(path, pairs, span.since, span.until, step, units)
    except sqlite3.Error as err:
        return _unreadable(err)
    return jsonify({"result": body})


def _unreadable(err: sqlite3.Error) -> Response:
    return error_response(503, f"the history cannot be read now: {err}", [("Retry-After", "10")])


def _series_body(
    path: Path,
    pairs: list[tuple[str, str]],
    since: float,
    until: float,
    step: int,
    units: dict[tuple[str, str], str | None],
) -> dict:
    with HistoryReader(path) as reader:
        answer = [
            {
                "sensor": sensor,
                "field": field,
                "unit": units.get((sensor, field)),
                "points": [
                    {"time": iso_utc(t), "min": low, "mean": round(mean, 4), "max": high}
                    for t, low, mean, high in reader.points(sensor, field, since, until, step)
                ],
            }
            for sensor, field in pairs
        ]
        events = [
            {"time": iso_utc(t), "sensor": sensor, "status": status, **({"reason": reason} if reason else {})}
            for t, sensor, status, reason in reader.events({s for s, _ in pairs}, since, until)
        ]
    return {
        "since": iso_utc(since),
        "until": iso_utc(until),
        "step_seconds": step,
        "series": answer,
        "events": events,
    }


@blueprint.get("/export")
def export() -> Response:
    """The values of a time range as CSV or JSON Lines, streamed (a year needs no more memory than a minute).

    One row per value: `time, sensor, field, label, unit, min, mean, max, count` (`label` and
    `unit` as a person reads them: "PM2.5", "µg/m³"); raw values have min = mean = max and
    count 1, older times come as 5-minute rollups.
    ---
    tags: [history]
    parameters:
      - $ref: "#/components/parameters/ExportSensor"
      - $ref: "#/components/parameters/HistoryField"
      - $ref: "#/components/parameters/ExportSince"
      - $ref: "#/components/parameters/HistoryUntil"
      - $ref: "#/components/parameters/ExportFormat"
    responses:
      200: {$ref: "#/components/responses/HistoryExport"}
      400: {$ref: "#/components/responses/HistoryBadRequest"}
      503: {$ref: "#/components/responses/HistoryOff"}
    """
    path = _store()
    if path is None:
        return _off()
    service = current_app.extensions["enviro"]
    args = request.args
    try:
        check_known(args, ("sensor", "field", "since", "until", "format"))
        span = parse_range(args, service.clock.now(), "-24h")
        fmt = args.get("format", "csv")
        if fmt not in ("csv", "jsonl"):
            raise ValueError(f"format: expected csv or jsonl, got {fmt[:40]!r}")
        filtered = bool(args.getlist("sensor") or args.getlist("field"))
        pairs = parse_fields(
            args.getlist("sensor"), args.getlist("field"), history_sensors(service), need_sensor=False
        )
    except ValueError as err:
        return error_response(400, str(err))
    rows = _rows(path, span.since, span.until, set(pairs) if filtered else None)
    name = f"enviro-sensor-{iso_utc(span.since)[:10]}-{iso_utc(span.until)[:10]}.{fmt}"
    mimetype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    labels = _labels(service)
    body = _csv(rows, labels) if fmt == "csv" else _jsonl(rows, labels)
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _rows(path: Path, since: float, until: float, pairs: set[tuple[str, str]] | None) -> Iterator[ExportRow]:
    # The connection lives as long as the stream, not the request handler.
    with HistoryReader(path) as reader:
        yield from reader.export(since, until, pairs)


def _csv(rows: Iterator[ExportRow], labels: dict[tuple[str, str], tuple[str, str]]) -> Iterator[str]:
    line = io.StringIO()
    writer = csv.writer(line, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        label, unit = labels.get((row.sensor, row.field), ("", ""))
        writer.writerow(
            (iso_utc(row.time), row.sensor, row.field, label, unit, row.min, row.mean, row.max, row.count)
        )
        if line.tell() > 65536:
            yield line.getvalue()
            line.seek(0)
            line.truncate()
    yield line.getvalue()


def _jsonl(rows: Iterator[ExportRow], labels: dict[tuple[str, str], tuple[str, str]]) -> Iterator[str]:
    chunk: list[str] = []
    for row in rows:
        label, unit = labels.get((row.sensor, row.field), ("", ""))
        record = {
            "time": iso_utc(row.time),
            "sensor": row.sensor,
            "field": row.field,
            "label": label,
            "unit": unit,
            "min": row.min,
            "mean": row.mean,
            "max": row.max,
            "count": row.count,
        }
        chunk.append(json.dumps(record) + "\n")
        if len(chunk) >= 1000:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk)


@blueprint.get("/archive/<day>")
def archive(day: str) -> Response:
    """One UTC day as a tar.gz holding one JSON Lines file per sensor (<sensor>.jsonl).

    Each line is one reading: `{"time", "sensor", "values"}`. A day older than
    the raw values' retention holds 5-minute rollups instead, each value a
    `{min, mean, max}` object and the record a `step_seconds`.
    ---
    tags: [history]
    parameters:
      - name: day
        in: path
        required: true
        description: The UTC day, YYYY-MM-DD.
        schema: {type: string, pattern: '^\\d{4}-\\d{2}-\\d{2}$', example: "2026-01-15"}
    responses:
      200: {$ref: "#/components/responses/HistoryArchive"}
      400: {$ref: "#/components/responses/HistoryBadRequest"}
      404: {$ref: "#/components/responses/HistoryNoDay"}
      503: {$ref: "#/components/responses/HistoryOff"}
    """
    path = _store()
    if path is None:
        return _off()
    match = DAY.fullmatch(day)
    try:
        if not match:
            raise ValueError
        year, month, date = (int(part) for part in match.groups())
        start = datetime.datetime(year, month, date, tzinfo=datetime.UTC).timestamp()
    except (ValueError, OverflowError):
        return error_response(400, f"day: expected a date as YYYY-MM-DD, got {day[:40]!r}")
    try:
        archive_file = _archive(path, start, day)
    except sqlite3.Error as err:
        return _unreadable(err)
    if archive_file is None:
        return error_response(404, f"no history for {day} (UTC)")
    return send_file(
        archive_file,
        mimetype="application/gzip",
        as_attachment=True,
        download_name=f"enviro-sensor-{day}.tar.gz",
    )


def _archive(path: Path, start: float, day: str) -> tempfile.SpooledTemporaryFile | None:
    members: dict[str, tempfile.SpooledTemporaryFile] = {}
    with HistoryReader(path) as reader:
        for sensor, record in reader.day_records(start):
            member = members.get(sensor)
            if member is None:
                # Closed below once copied into the archive.
                member = members[sensor] = tempfile.SpooledTemporaryFile(SPOOL_BYTES)  # noqa: SIM115
            record["time"] = iso_utc(record["time"])
            member.write(json.dumps(record).encode() + b"\n")
    if not members:
        return None
    # Imported by the archive route alone: tarfile holds 0.4 MiB for the
    # worker's life, and most services never serve an archive.
    import tarfile

    out = tempfile.SpooledTemporaryFile(SPOOL_BYTES)  # noqa: SIM115 - send_file closes it
    # A fixed mtime in the gzip header: the same day gives the same bytes.
    with (
        gzip.GzipFile(fileobj=out, mode="wb", mtime=start) as packed,
        tarfile.open(fileobj=packed, mode="w") as tar,
    ):
        for sensor, member in members.items():
            info = tarfile.TarInfo(f"{day}/{sensor}.jsonl")
            info.size = member.tell()
            info.mtime = int(start)
            member.seek(0)
            tar.addfile(info, member)
            member.close()
    out.seek(0)
    return out
