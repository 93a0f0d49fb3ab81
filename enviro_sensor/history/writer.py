"""Writing the history: batches of readings in one transaction, retention, and the size cap.

A batch is one transaction: raw values, their 5-minute rollups (upserted, so
a bucket spread over two batches adds up) and status events. A process killed
mid-batch loses that batch and nothing else (WAL). The file never grows past
ENVIRO_HISTORY_MAX_MB: SQLite's ``max_page_count`` refuses pages beyond it, and
the writer then drops the oldest day and tries again.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from enviro_sensor.history.database import BUCKET_SECONDS, open_or_replace

DAY_SECONDS = 86400
# Part of the cap left to the write-ahead log, which SQLite cuts back to
# this size after each checkpoint (journal_size_limit).
WAL_SHARE = 0.2
# Bytes one value takes at most in the raw table, its rollup and the b-trees.
ROW_BYTES_AT_MOST = 96
# The WAL's shared-memory index beside the file (32 kB per 4000 pages).
SHM_BYTES = 64 * 1024
# Oldest days dropped, at most, to make room for one batch before giving up.
MAX_DAYS_DROPPED_PER_BATCH = 30


@dataclasses.dataclass(frozen=True)
class Limits:
    """How long, and how much, the history keeps."""

    raw_days: float
    days: float
    max_bytes: int


class HistoryFull(sqlite3.OperationalError):
    """The disk (not the cap) has no room: the batch stays pending."""


class HistoryWriter:
    """The one writing connection; used from the history output's thread only."""

    def __init__(self, path: Path, limits: Limits, stamp: str) -> None:
        self.path = path
        self.limits = limits
        self.db = open_or_replace(path, stamp)
        page_size = self.db.execute("PRAGMA page_size").fetchone()[0]
        wal_bytes = int(limits.max_bytes * WAL_SHARE)
        self.db.execute(f"PRAGMA journal_size_limit={wal_bytes}")
        self.db.execute(f"PRAGMA wal_autocheckpoint={max(1, wal_bytes // page_size // 2)}")
        self.max_pages = max(16, (limits.max_bytes - wal_bytes - SHM_BYTES) // page_size)
        self._wal_bytes = wal_bytes
        self.page_size = page_size
        self.db.execute(f"PRAGMA max_page_count={self.max_pages}")
        self._series: dict[tuple[str, str], int] = {
            (sensor, field): series
            for series, sensor, field in self.db.execute("SELECT id, sensor, field FROM series")
        }

    def close(self) -> None:
        self.db.close()

    def write(
        self,
        values: list[tuple[str, str, float, float]],
        events: list[tuple[float, str, str, str | None]],
        once: Sequence[tuple[str, str, float, float]] = (),
    ) -> None:
        """One batch: (sensor, field, time, value) and (time, sensor, status, reason), in one transaction.

        ``once`` are values written only where none is stored for that series and
        time yet (a journal's replay), so that their rollups are not counted twice.
        """
        for _ in range(MAX_DAYS_DROPPED_PER_BATCH + 1):
            try:
                self._transaction(values, events, once)
                self._keep_wal_small()
                return
            except sqlite3.OperationalError as err:
                if "full" not in str(err) or not self._at_cap(len(values) + len(events) + len(once)):
                    raise
                if not self._drop_oldest_day():
                    raise
        raise HistoryFull("the history cannot fit one batch within ENVIRO_HISTORY_MAX_MB")

    def _transaction(
        self,
        values: list[tuple[str, str, float, float]],
        events: list[tuple[float, str, str, str | None]],
        once: Sequence[tuple[str, str, float, float]],
    ) -> None:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            raw = [(self._series_id(s, f), round(t * 1000), v) for s, f, t, v in values]
            db.executemany("INSERT OR REPLACE INTO raw (series, time_ms, value) VALUES (?, ?, ?)", raw)
            for sensor, field, t, v in once:
                row = (self._series_id(sensor, field), round(t * 1000), v)
                inserted = db.execute(
                    "INSERT OR IGNORE INTO raw (series, time_ms, value) VALUES (?, ?, ?)", row
                )
                if inserted.rowcount == 1:
                    raw.append(row)
            db.executemany(
                """INSERT INTO rollup (series, bucket, low, total, count, high) VALUES (?, ?, ?, ?, 1, ?)
                ON CONFLICT (series, bucket) DO UPDATE SET
                    low = min(low, excluded.low), high = max(high, excluded.high),
                    total = total + excluded.total, count = count + 1""",
                [(series, ms // 1000 // BUCKET_SECONDS * BUCKET_SECONDS, v, v, v) for series, ms, v in raw],
            )
            db.executemany(
                "INSERT INTO events (time_ms, sensor, status, reason) VALUES (?, ?, ?, ?)",
                [(round(t * 1000), sensor, status, reason) for t, sensor, status, reason in events],
            )
            db.execute("COMMIT")
        except BaseException:
            # SQLite has already rolled back after some errors (a full database).
            if db.in_transaction:
                db.execute("ROLLBACK")
            # Ids handed out in the rolled-back transaction no longer exist.
            self._series = {k: v for k, v in self._series.items() if self._known(v)}
            raise

    def _keep_wal_small(self) -> None:
        # A big batch can leave a WAL larger than its share until the next
        # automatic checkpoint: fold it into the file and empty it now.
        wal = Path(f"{self.path}-wal")
        if wal.exists() and wal.stat().st_size > self._wal_bytes:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _known(self, series: int) -> bool:
        return self.db.execute("SELECT 1 FROM series WHERE id = ?", (series,)).fetchone() is not None

    def _series_id(self, sensor: str, field: str) -> int:
        key = (sensor, field)
        series = self._series.get(key)
        if series is None:
            self.db.execute("INSERT OR IGNORE INTO series (sensor, field) VALUES (?, ?)", key)
            series = self.db.execute("SELECT id FROM series WHERE sensor = ? AND field = ?", key).fetchone()[
                0
            ]
            self._series[key] = series
        return series

    def _at_cap(self, rows: int) -> bool:
        """Whether a batch of ``rows`` rows ran into the cap (SQLite says "full" for the disk too)."""
        used = self.db.execute("PRAGMA page_count").fetchone()[0]
        free = self.db.execute("PRAGMA freelist_count").fetchone()[0]
        # A row takes well under this in raw, rollup and index together.
        needed = rows * ROW_BYTES_AT_MOST // self.page_size + 4
        return used - free + needed >= self.max_pages

    def _drop_oldest_day(self) -> bool:
        """Delete the oldest day of raw values and of rollups; False when nothing is left to drop."""
        dropped = False
        oldest_ms = self.db.execute("SELECT min(time_ms) FROM raw").fetchone()[0]
        if oldest_ms is not None:
            self.db.execute("DELETE FROM raw WHERE time_ms < ?", (oldest_ms + DAY_SECONDS * 1000,))
            dropped = True
        oldest = self.db.execute("SELECT min(bucket) FROM rollup").fetchone()[0]
        if oldest is not None:
            self.db.execute("DELETE FROM rollup WHERE bucket < ?", (oldest + DAY_SECONDS,))
            dropped = True
        return dropped

    def expire(self, now: float) -> None:
        """Delete what is older than the retention periods."""
        raw_before = round((now - self.limits.raw_days * DAY_SECONDS) * 1000)
        before = now - self.limits.days * DAY_SECONDS
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("DELETE FROM raw WHERE time_ms < ?", (raw_before,))
            self.db.execute("DELETE FROM rollup WHERE bucket < ?", (before,))
            self.db.execute("DELETE FROM events WHERE time_ms < ?", (round(before * 1000),))
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise

    def size_bytes(self) -> int:
        """The file, its WAL and the WAL's index, as they take room on the card."""
        parts = (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm"))
        return sum(p.stat().st_size for p in parts if p.exists())
