"""The history output: accepted readings and status changes into the SQLite history, in batches.

Records gather in memory and are written in one transaction when
ENVIRO_HISTORY_FLUSH seconds have passed on the service's clock (checked as
each record arrives: readings come every few seconds), when ``flush`` is
called, and at shutdown, sparing the SD card a write per reading. A write that
fails (full disk, read-only directory) keeps the batch, turns the output
down with SQLite's reason, and is tried again one interval later: the
records it holds are ``buffered``, not lost, and ``sent`` once committed.

A remote node's reading from the node journal (``Reading.journal``) is
written once even when the journal replays it at start-up (it may have been
committed before the service was killed), and the journal is told once it
is committed.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import threading
from collections.abc import Mapping

from enviro_sensor.clocks import Clock
from enviro_sensor.config import parsers
from enviro_sensor.config.declarations import Setting, declare
from enviro_sensor.history.database import path_in
from enviro_sensor.history.writer import HistoryWriter, Limits
from enviro_sensor.outputs.base import Account, Output, OutputContext
from enviro_sensor.records import LOCAL_SOURCE, Reading, StatusChange
from enviro_sensor.sensors.config import Sensor

log = logging.getLogger(__name__)

# Values held while writes fail, at most: about a day of every sensor at the
# default intervals in a few tens of MB. Older ones are dropped first.
MAX_PENDING_VALUES = 1_000_000
# Seconds between deletions of what has outlived its retention.
EXPIRE_EVERY = 3600.0


def series_sensor(source: str, sensor: str) -> str:
    """The history's name for a sensor: its own for a local one, ``<node>/<sensor>`` for a remote one."""
    return sensor if source == LOCAL_SOURCE else f"{source}/{sensor}"


class HistoryOutput(Output):
    """Writes batches to ``<data_dir>/history.sqlite3``."""

    name = "history"
    keeps_readings = True

    def __init__(self, data_dir: str, limits: Limits, flush_seconds: float, clock: Clock) -> None:
        self.path = path_in(data_dir)
        self.limits = limits
        self.flush_seconds = flush_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._writer: HistoryWriter | None = None
        self._values: list[tuple[str, str, float, float]] = []
        self._events: list[tuple[float, str, str, str | None]] = []
        # Journaled values are written only if not there yet (a replay may repeat them).
        self._once: list[tuple[str, str, float, float]] = []
        self._records = 0
        self._journal_first: int | None = None
        self._journal_last: int | None = None
        self._sent = 0
        self._trimmed = 0
        self._failures = 0
        self._refusal: str | None = None
        self._refusal_at: float | None = None
        self._next_flush = clock.monotonic() + flush_seconds
        self._next_expire = clock.monotonic()
        self._healthy = False
        #: Batches written since start (tests and benchmarks count them).
        self.batches = 0

    def start(self, sensors: Mapping[str, Sensor]) -> None:
        with self._lock:
            try:
                self._open()
            except Exception as err:
                self._failures += 1
                self._refusal = f"{type(err).__name__}: {err}"
                self._refusal_at = self._clock.now()
                raise
            self._healthy = True

    def _open(self) -> HistoryWriter:
        if self._writer is None:
            try:
                stamp = datetime.datetime.fromtimestamp(self._clock.now(), datetime.UTC).strftime(
                    "%Y%m%dT%H%M%SZ"
                )
                self._writer = HistoryWriter(self.path, self.limits, stamp)
            except Exception:
                self._healthy = False
                raise
        return self._writer

    def handle_reading(self, reading: Reading) -> None:
        with self._lock:
            sensor = series_sensor(reading.source, reading.sensor)
            into = self._values if reading.journal is None else self._once
            for field, value in reading.values.items():
                into.append((sensor, field, reading.time, value))
            self._records += 1
            if reading.journal is not None:
                if self._journal_first is None:
                    self._journal_first = reading.journal
                self._journal_last = reading.journal
            if len(self._values) > MAX_PENDING_VALUES:
                # Whole readings are not tracked here: counted by value, the oldest first.
                excess = len(self._values) - MAX_PENDING_VALUES
                del self._values[:excess]
                self._trimmed += excess
            self._flush_if_due()

    def handle_status(self, change: StatusChange) -> None:
        with self._lock:
            sensor = series_sensor(change.source, change.sensor)
            self._events.append((change.time, sensor, change.status, change.reason))
            self._records += 1
            self._flush_if_due()

    def _flush_if_due(self) -> None:
        if self._clock.monotonic() >= self._next_flush:
            # The failure is in the account (and the hub's one line): the batch is kept.
            try:
                self._flush()
            except Exception as err:
                log.debug("history: batch kept after %s", err)

    def account(self) -> Account:
        with self._lock:
            return Account(
                sent=self._sent,
                buffered=self._records,
                dropped={"buffer_full": self._trimmed},
                refusal=self._refusal,
                refusal_at=self._refusal_at,
                failures=self._failures,
            )

    def flush(self) -> None:
        """Write what is pending now (shutdown, tests); raises when the write fails."""
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        # The next try is one interval away whatever happens: a full disk is
        # not asked again for every reading.
        now = self._clock.monotonic()
        self._next_flush = now + self.flush_seconds
        try:
            writer = self._open()
            if self._values or self._events or self._once:
                writer.write(self._values, self._events, self._once)
                self.batches += 1
            self._values, self._events, self._once = [], [], []
            self._sent += self._records
            self._records = 0
            if self._journal_last is not None and self.journal is not None:
                self.journal.kept(self._journal_last)
            self._journal_first = self._journal_last = None
            if now >= self._next_expire:
                self._next_expire = now + EXPIRE_EVERY
                writer.expire(self._clock.now())
        except Exception as err:
            self._healthy = False
            self._failures += 1
            self._refusal = f"{type(err).__name__}: {err}"
            self._refusal_at = self._clock.now()
            self._drop_writer()
            raise
        self._healthy = True
        self._refusal = None

    def _drop_writer(self) -> None:
        # Opened afresh on the next try: the directory may have come back.
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception as err:
                log.debug("history: close failed: %s", err)
            self._writer = None

    @property
    def connected(self) -> bool:
        """False while the file cannot be opened or written."""
        return self._healthy

    @property
    def pending(self) -> int:
        """Values waiting for the next batch."""
        return len(self._values) + len(self._once)

    def close(self) -> None:
        with self._lock:
            try:
                self._flush()
            except Exception as err:
                log.warning("history: the last batch is lost: %s", err)
            self._drop_writer()


@dataclasses.dataclass(frozen=True)
class HistoryOptions:
    flush: float
    raw_days: float
    days: float
    max_mb: float
    #: The history is off without it.
    data_dir: str | None


SETTINGS = declare(
    "history",
    HistoryOptions,
    Setting(
        "flush",
        "60",
        parsers.seconds(1, 3600),
        "seconds between batched writes of the history (a crash loses at most one batch)",
    ),
    Setting(
        "raw_days", "7", parsers.number(0.01, 3650, "days"), "days every raw reading is kept in the history"
    ),
    Setting(
        "days",
        "400",
        parsers.number(1, 36500, "days"),
        "days the per-5-minute minimum, mean and maximum are kept in the history",
    ),
    Setting(
        "max_mb",
        "1000",
        parsers.number(1, 1_000_000, "MB"),
        "size the history file (with its write-ahead log) never exceeds, in MB; the oldest days go first",
    ),
    shared=("data_dir",),
)


def from_context(context: OutputContext, options: HistoryOptions) -> HistoryOutput | None:
    """On when ENVIRO_DATA_DIR names a directory."""
    if not options.data_dir:
        return None
    limits = Limits(
        raw_days=options.raw_days,
        days=options.days,
        max_bytes=int(options.max_mb * 1024 * 1024),
    )
    return HistoryOutput(options.data_dir, limits, options.flush, context.clock)
