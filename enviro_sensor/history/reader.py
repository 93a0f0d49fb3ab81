"""Reading the history for a request, on a read-only connection of its own.

Requests never share the writer's connection or queue: SQLite's WAL lets
any number of readers see the last committed batch while the writer adds
the next. Steps under 5 minutes are computed from raw values (kept
ENVIRO_HISTORY_RAW_DAYS), longer ones from the 5-minute rollups.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from enviro_sensor.history.database import BUCKET_SECONDS, connect_read_only

# Rows fetched from SQLite at a time while streaming an export.
FETCH_ROWS = 2000


@dataclasses.dataclass(frozen=True)
class ExportRow:
    """One value (raw: min = mean = max, count 1) or one 5-minute rollup."""

    time: float
    sensor: str
    field: str
    min: float
    mean: float
    max: float
    count: int


class HistoryReader:
    """Queries of one request; close it (or use ``with``) when done."""

    def __init__(self, path: Path) -> None:
        self.db: sqlite3.Connection | None
        try:
            self.db = connect_read_only(path)
        except FileNotFoundError:
            self.db = None  # nothing written yet: every answer is empty

    def __enter__(self) -> HistoryReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self.db is not None:
            self.db.close()

    def _series_id(self, sensor: str, field: str) -> int | None:
        if self.db is None:
            return None
        row = self.db.execute(
            "SELECT id FROM series WHERE sensor = ? AND field = ?", (sensor, field)
        ).fetchone()
        return row[0] if row else None

    def points(
        self, sensor: str, field: str, since: float, until: float, step: int
    ) -> list[tuple[float, float, float, float]]:
        """(time, min, mean, max) per step from ``since`` (inclusive) to ``until`` (exclusive)."""
        series = self._series_id(sensor, field)
        if series is None or self.db is None:
            return []
        if step < BUCKET_SECONDS:
            step_ms = step * 1000
            rows = self.db.execute(
                """SELECT time_ms / ? * ?, min(value), avg(value), max(value) FROM raw
                WHERE series = ? AND time_ms >= ? AND time_ms < ? GROUP BY time_ms / ? ORDER BY 1""",
                (step_ms, step, series, round(since * 1000), round(until * 1000), step_ms),
            )
        else:
            rows = self.db.execute(
                """SELECT bucket / ? * ?, min(low), sum(total) / sum(count), max(high) FROM rollup
                WHERE series = ? AND bucket >= ? AND bucket < ? GROUP BY bucket / ? ORDER BY 1""",
                (step, step, series, int(since // BUCKET_SECONDS * BUCKET_SECONDS), until, step),
            )
        return [(float(t), low, mean, high) for t, low, mean, high in rows]

    def events(
        self, sensors: Iterable[str], since: float, until: float
    ) -> list[tuple[float, str, str, str | None]]:
        """Status changes of ``sensors`` in the range: (time, sensor, status, reason)."""
        names = sorted(set(sensors))
        if self.db is None or not names:
            return []
        marks = ",".join("?" * len(names))
        rows = self.db.execute(
            f"""SELECT time_ms, sensor, status, reason FROM events
            WHERE time_ms >= ? AND time_ms < ? AND sensor IN ({marks}) ORDER BY time_ms""",
            (round(since * 1000), round(until * 1000), *names),
        )
        return [(ms / 1000, sensor, status, reason) for ms, sensor, status, reason in rows]

    def export(self, since: float, until: float, pairs: set[tuple[str, str]] | None) -> Iterator[ExportRow]:
        """Every value in the range, oldest first: 5-minute rollups where raw values have expired."""
        if self.db is None:
            return
        first_raw = self.db.execute("SELECT min(time_ms) FROM raw").fetchone()[0]
        raw_from = since if first_raw is None else max(since, first_raw / 1000)
        if first_raw is None:
            raw_from = until  # no raw values: everything from the rollups
        wanted = pairs
        if raw_from > since:
            rollups = self.db.execute(
                """SELECT r.bucket, s.sensor, s.field, r.low, r.total / r.count, r.high, r.count
                FROM rollup r JOIN series s ON s.id = r.series
                WHERE r.bucket >= ? AND r.bucket < ? AND r.bucket + ? <= ?
                ORDER BY r.bucket, s.sensor, s.field""",
                # Only whole buckets before the raw values: the one they start
                # in comes from them.
                (int(since // BUCKET_SECONDS * BUCKET_SECONDS), until, BUCKET_SECONDS, raw_from),
            )
            yield from self._rows(rollups, wanted)
        if raw_from < until:
            raw = self.db.execute(
                """SELECT r.time_ms / 1000.0, s.sensor, s.field, r.value, r.value, r.value, 1
                FROM raw r JOIN series s ON s.id = r.series
                WHERE r.time_ms >= ? AND r.time_ms < ? ORDER BY r.time_ms, s.sensor, s.field""",
                (round(raw_from * 1000), round(until * 1000)),
            )
            yield from self._rows(raw, wanted)

    @staticmethod
    def _rows(cursor: sqlite3.Cursor, wanted: set[tuple[str, str]] | None) -> Iterator[ExportRow]:
        while batch := cursor.fetchmany(FETCH_ROWS):
            for row in batch:
                if wanted is None or (row[1], row[2]) in wanted:
                    yield ExportRow(float(row[0]), *row[1:])

    def day_records(self, start: float) -> Iterator[tuple[str, dict]]:
        """(sensor, record) for one UTC day from ``start``: raw readings, else 5-minute rollups."""
        if self.db is None:
            return
        end = start + 86400
        raw = self.db.execute(
            """SELECT s.sensor, r.time_ms, s.field, r.value FROM raw r JOIN series s ON s.id = r.series
            WHERE r.time_ms >= ? AND r.time_ms < ? ORDER BY s.sensor, r.time_ms, s.field""",
            (round(start * 1000), round(end * 1000)),
        )
        found = False
        for sensor, ms, values in _grouped(raw):
            found = True
            yield sensor, {"time": ms / 1000, "sensor": sensor, "values": values}
        if found:
            return
        rollups = self.db.execute(
            """SELECT s.sensor, r.bucket, s.field, r.low, r.total / r.count, r.high
            FROM rollup r JOIN series s ON s.id = r.series
            WHERE r.bucket >= ? AND r.bucket < ? ORDER BY s.sensor, r.bucket, s.field""",
            (start, end),
        )
        for sensor, bucket, values in _grouped(rollups):
            record = {
                "time": float(bucket),
                "sensor": sensor,
                "step_seconds": BUCKET_SECONDS,
                "values": values,
            }
            yield sensor, record


def _grouped(cursor: sqlite3.Cursor) -> Iterator[tuple[str, int, dict]]:
    """Rows (sensor, time, field, value...) ordered by sensor and time, as one dict of values per instant."""
    current: tuple[str, int] | None = None
    values: dict = {}
    while batch := cursor.fetchmany(FETCH_ROWS):
        for sensor, time, field, *value in batch:
            if (sensor, time) != current:
                if current is not None:
                    yield current[0], current[1], values
                current, values = (sensor, time), {}
            values[field] = (
                value[0] if len(value) == 1 else dict(zip(("min", "mean", "max"), value, strict=True))
            )
    if current is not None:
        yield current[0], current[1], values
