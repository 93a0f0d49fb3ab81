"""Opening the history file: WAL mode, the schema and its migrations, a corrupt file moved aside.

Tables: ``series`` names each (sensor, field) once; ``raw`` holds every
accepted value for ENVIRO_HISTORY_RAW_DAYS; ``rollup`` holds per-5-minute
min, sum, count and max for ENVIRO_HISTORY_DAYS; ``events`` holds status
changes (paused, failing...), so a gap in a chart has a reason. Times are
whole milliseconds (raw) and bucket starts in seconds (rollup), integers
being smaller on disk than floats.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

log = logging.getLogger(__name__)

FILE_NAME = "history.sqlite3"
# Seconds in one rollup bucket.
BUCKET_SECONDS = 300

_V1 = """
CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    sensor TEXT NOT NULL,
    field TEXT NOT NULL,
    UNIQUE (sensor, field)
);
CREATE TABLE raw (
    series INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (series, time_ms)
) WITHOUT ROWID;
CREATE TABLE rollup (
    series INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    low REAL NOT NULL,
    total REAL NOT NULL,
    count INTEGER NOT NULL,
    high REAL NOT NULL,
    PRIMARY KEY (series, bucket)
) WITHOUT ROWID;
CREATE TABLE events (
    time_ms INTEGER NOT NULL,
    sensor TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT
);
CREATE INDEX events_time ON events (time_ms);
"""

# Each entry takes the schema from its index to the next version
# (PRAGMA user_version); a new version appends its SQL.
MIGRATIONS: tuple[str, ...] = (_V1,)
SCHEMA_VERSION = len(MIGRATIONS)


class CorruptDatabase(sqlite3.DatabaseError):
    """The file is not a usable SQLite database."""


def path_in(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / FILE_NAME


def connect(path: Path, *, timeout: float = 5.0) -> sqlite3.Connection:
    """A writing connection in WAL mode, migrated to SCHEMA_VERSION; raises CorruptDatabase."""
    db = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise CorruptDatabase(f"schema version {version} is newer than this service's {SCHEMA_VERSION}")
        if version > 0:
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise CorruptDatabase(check)
        db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a power cut may lose the last commit, never
        # corrupt the file; FULL would sync on every batch for no more safety.
        db.execute("PRAGMA synchronous=NORMAL")
        # The WAL file is cut back after each checkpoint rather than left at
        # its largest, so the size cap counts what is really on the card.
        db.execute("PRAGMA journal_size_limit=4194304")
        for step in range(version, SCHEMA_VERSION):
            # One script, one transaction: a crash leaves the old version whole.
            db.executescript(f"BEGIN IMMEDIATE; {MIGRATIONS[step]} PRAGMA user_version={step + 1}; COMMIT;")
    except sqlite3.DatabaseError as err:
        db.close()
        if isinstance(err, CorruptDatabase):
            raise
        # "file is not a database", "database disk image is malformed"
        if "malformed" in str(err) or "not a database" in str(err):
            raise CorruptDatabase(str(err)) from err
        raise
    return db


def open_or_replace(path: Path, stamp: str) -> sqlite3.Connection:
    """``connect``, moving a corrupt file aside (``.corrupt-<stamp>``) and starting afresh."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return connect(path)
    except CorruptDatabase as err:
        aside = path.with_name(f"{path.name}.corrupt-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            part = Path(str(path) + suffix)
            if part.exists():
                part.rename(Path(str(aside) + suffix))
        log.warning("history: %s is corrupt (%s); moved to %s, starting a new one", path, err, aside.name)
        return connect(path)


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that can only read, for a request; FileNotFoundError before the first write."""
    if not path.exists():
        raise FileNotFoundError(path)
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5.0, check_same_thread=False)
    db.execute("PRAGMA query_only=1")
    if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
        # Created, not yet migrated (the writer is starting): nothing to read.
        db.close()
        raise FileNotFoundError(path)
    return db
