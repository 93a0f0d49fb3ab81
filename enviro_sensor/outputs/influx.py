"""InfluxDB line protocol, batched, with an on-disk buffer that bridges an outage.

Off unless ENVIRO_INFLUX_URL is set. With ENVIRO_INFLUX_DB it writes through
the v1 API (``/write?db=``, InfluxDB 1.x, VictoriaMetrics); with
ENVIRO_INFLUX_ORG and ENVIRO_INFLUX_BUCKET through v2 (``/api/v2/write``,
ENVIRO_INFLUX_TOKEN as the token). One point per reading: measurement
``enviro``, tags ``host`` and ``sensor``, the reading's values as fields
under their JSON keys, in milliseconds.

Points are sent in batches (every FLUSH_SECONDS or BATCH_LINES lines).
``sent`` counts what the server acknowledged (a 2xx), nothing else. A batch
the server does not take is kept: appended whole to ``influx-buffer.lp`` in
ENVIRO_DATA_DIR (in memory when that is not set; in memory too while the
disk is full) and sent before anything newer once the server takes points
again; writes are tried again after 1 s, 2 s, 4 s... up to 60 s. What is
kept and why:

- the server is away, or answers 5xx: kept;
- it refuses what a person can fix (401/403: the token or login; 404: the
  database is not there): kept, the output down with the server's words;
- it refuses the points themselves (400: a schema conflict, a line it
  cannot parse): those points are dropped (``refused``), the output down
  with the server's words until a write succeeds.

Past BUFFER_BYTES the oldest points are dropped (``buffer_full``). The SD
card sees one append per failed batch, not per point.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import socket
import urllib.parse
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from enviro_sensor.clocks import Clock
from enviro_sensor.config import parsers
from enviro_sensor.config.declarations import Setting, declare
from enviro_sensor.outputs.base import Account, Output, OutputContext
from enviro_sensor.outputs.line_buffer import LineBuffer
from enviro_sensor.records import LOCAL_SOURCE, Reading, StatusChange

log = logging.getLogger(__name__)

MEASUREMENT = "enviro"
BATCH_LINES = 500
FLUSH_SECONDS = 10.0
# An hour of every sensor at the default intervals is about 2 MB of lines: 15 hours.
BUFFER_BYTES = 32 * 1024 * 1024
BUFFER_NAME = "influx-buffer.lp"
RETRY_MIN, RETRY_MAX = 1.0, 60.0
# Seconds to connect and to wait for an answer: a write is on the output's own thread.
TIMEOUT = (3.05, 10.0)


def _escape_tag(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def line(reading: Reading, host: str) -> str | None:
    """One reading as a line of InfluxDB line protocol; None when it has no finite value."""
    fields = ",".join(
        f"{_escape_tag(key)}={float(value)!r}"
        for key, value in reading.values.items()
        if math.isfinite(value)
    )
    if not fields:
        return None
    tags = f"host={_escape_tag(host)}"
    if reading.source != LOCAL_SOURCE:  # a remote node's reading: the node as a tag
        tags += f",node={_escape_tag(reading.source)}"
    tags += f",sensor={_escape_tag(reading.sensor)}"
    return f"{MEASUREMENT},{tags} {fields} {round(reading.time * 1000)}"


class WriteFailed(Exception):
    """The server did not take a batch, for a reason worth waiting out (its words in the message)."""


class PointsRefused(Exception):
    """The server refused the points themselves: sending them again would not help."""

    def __init__(self, message: str, refused: int) -> None:
        super().__init__(message)
        self.refused = refused


def _server_words(answer: Any) -> str:
    """The reason an InfluxDB-compatible server gave: its JSON ``error`` (1.x), ``message`` (2.x), or text."""
    try:
        document = answer.json()
        if isinstance(document, dict):
            words = document.get("error") or document.get("message")
            if isinstance(words, str) and words:
                return words[:300]
    except ValueError:
        pass
    return answer.text.strip()[:300] or answer.reason or "no reason given"


class InfluxOutput(Output):
    """Writes every reading as a point, in batches."""

    name = "influxdb"
    keeps_readings = True

    def __init__(
        self,
        url: str,
        clock: Clock,
        *,
        db: str | None = None,
        org: str | None = None,
        bucket: str | None = None,
        token: str | None = None,
        data_dir: str | None = None,
        registry: CollectorRegistry | None = None,
        host: str | None = None,
        buffer_bytes: int = BUFFER_BYTES,
    ) -> None:
        base = url.rstrip("/")
        self.db = db
        if db is not None:
            self.write_url = f"{base}/write?" + urllib.parse.urlencode({"db": db, "precision": "ms"})
        else:
            query = urllib.parse.urlencode({"org": org or "", "bucket": bucket or "", "precision": "ms"})
            self.write_url = f"{base}/api/v2/write?{query}"
        self.where = base
        self._headers = {"Content-Type": "text/plain; charset=utf-8"}
        if token:
            self._headers["Authorization"] = f"Token {token}"
        self._clock = clock
        self._host = host or socket.gethostname()
        # requests is imported by an output that is on: the registry imports
        # this module in every service, and requests with urllib3 costs ~5 MiB.
        import requests

        self._session = requests.Session()
        #: Points not yet in the buffer: the batch being gathered, and any the disk had no room for.
        self._pending: list[str] = []
        self._pending_journal: int | None = None
        self._first_pending: float | None = None
        self.buffer = LineBuffer(Path(data_dir) / BUFFER_NAME if data_dir else None, buffer_bytes)
        # Leading buffer lines the server has already acknowledged (a backlog sent in part).
        self._acked_in_buffer = 0
        self._retry_at = 0.0
        self._retry_delay = RETRY_MIN
        self._sent = 0
        self._dropped = {"buffer_full": 0, "refused": 0}
        self._failures = 0
        self._refusal: str | None = None
        self._refusal_at: float | None = None
        #: Why the buffer file could not take a batch (a full disk); None once it can.
        self.buffer_error: str | None = None

    @property
    def connected(self) -> bool:
        return self._refusal is None

    def account(self) -> Account:
        return Account(
            sent=self._sent,
            buffered=len(self._pending) + self.buffer.count - self._acked_in_buffer,
            dropped=dict(self._dropped),
            refusal=self._refusal,
            refusal_at=self._refusal_at,
            failures=self._failures,
        )

    def handle_reading(self, reading: Reading) -> None:
        text = line(reading, self._host)
        if text is None:  # nothing to send; kept once what came before it is
            if not self._pending:
                self._kept(reading.journal)
            elif reading.journal is not None:
                self._pending_journal = reading.journal
            return
        if self._first_pending is None:
            self._first_pending = self._clock.monotonic()
        self._pending.append(text)
        if reading.journal is not None:
            self._pending_journal = reading.journal
        if (
            len(self._pending) >= BATCH_LINES
            or self._clock.monotonic() - self._first_pending >= FLUSH_SECONDS
        ):
            self.flush()

    def handle_status(self, change: StatusChange) -> None:
        """Statuses are not measurements: InfluxDB gets readings only."""

    def _kept(self, entry: int | None) -> None:
        if entry is not None and self.journal is not None:
            self.journal.kept(entry)

    def flush(self) -> None:
        """Send what is buffered, then what is pending; keep what the server does not take."""
        self._first_pending = None
        now = self._clock.monotonic()
        if now < self._retry_at:
            self._spill()
            return
        try:
            self._send_backlog()
            while self._pending:
                batch = self._pending[:BATCH_LINES]
                self._send(batch)
                del self._pending[: len(batch)]
        except WriteFailed as err:
            self._failed(str(err), now)
            self._spill()
            return
        self._kept(self._pending_journal)
        self._pending_journal = None
        self._refusal = None
        self._retry_delay = RETRY_MIN

    def _send_backlog(self) -> None:
        if self.buffer.count == 0:
            return
        backlog = self.buffer.lines()
        try:
            for start in range(self._acked_in_buffer, len(backlog), BATCH_LINES):
                chunk = backlog[start : start + BATCH_LINES]
                self._send(chunk)
                self._acked_in_buffer = start + len(chunk)
        finally:
            if self._acked_in_buffer >= len(backlog):
                try:
                    self.buffer.clear()
                    self._acked_in_buffer = 0
                except OSError as err:
                    log.debug("InfluxDB buffer: cannot remove %s: %s", self.buffer.path, err)

    def _send(self, lines: list[str]) -> None:
        """One write; counts what the server took, raises WriteFailed for what it must be given again."""
        import requests  # imported already by __init__: a lookup

        body = "\n".join(lines).encode()
        try:
            answer = self._session.post(self.write_url, data=body, headers=self._headers, timeout=TIMEOUT)
        except requests.RequestException as err:
            raise WriteFailed(f"cannot reach InfluxDB at {self.where}: {_short(err)}") from err
        if answer.status_code < 300:
            self._sent += len(lines)
            return
        words = _server_words(answer)
        status = answer.status_code
        if status >= 500 or status in (401, 403, 404, 429):
            hint = ""
            if status == 404 and self.db is not None and "database" in words:
                hint = f" (create it: CREATE DATABASE {self.db}; see docs/outputs.md)"
            elif status in (401, 403):
                hint = " (check ENVIRO_INFLUX_TOKEN and the server's users)"
            raise WriteFailed(f"InfluxDB at {self.where} answered HTTP {status}: {words}{hint}")
        # The points themselves (400: unparsable, a field's type conflict; 413): a
        # partial write took the others, and says how many it dropped.
        match = re.search(r"dropped=(\d+)", words)
        refused = min(len(lines), int(match.group(1))) if match else len(lines)
        self._sent += len(lines) - refused
        self._dropped["refused"] += refused
        self._failed(
            f"InfluxDB at {self.where} refused {refused} of {len(lines)} points: HTTP {status} {words}", None
        )

    def _failed(self, message: str, now: float | None) -> None:
        self._failures += 1
        self._refusal = message
        self._refusal_at = self._clock.now()
        if now is not None:
            self._retry_at = now + self._retry_delay
            self._retry_delay = min(RETRY_MAX, self._retry_delay * 2)

    def _spill(self) -> None:
        """Move the pending points into the buffer; on a full disk they stay in memory."""
        if not self._pending:
            return
        try:
            dropped = self.buffer.add(self._pending)
        except OSError as err:
            self.buffer_error = f"cannot buffer on {self.buffer.path}: {err.strerror or err}"
            self._cap_memory()
            return
        if dropped:
            self._drop_oldest_acked(dropped)
        self.buffer_error = None
        self._pending = []
        self._kept(self._pending_journal)  # on disk now: the journal need not hold it
        self._pending_journal = None

    def _drop_oldest_acked(self, dropped: int) -> None:
        # Lines the server had acknowledged go first; only the rest are losses.
        acked = min(dropped, self._acked_in_buffer)
        self._acked_in_buffer -= acked
        self._dropped["buffer_full"] += dropped - acked

    def _cap_memory(self) -> None:
        limit = self.buffer.limit
        size = sum(len(item) + 1 for item in self._pending)
        start = 0
        while size > limit and start < len(self._pending):
            size -= len(self._pending[start]) + 1
            start += 1
        if start:
            del self._pending[:start]
            self._dropped["buffer_full"] += start

    def close(self) -> None:
        self.flush()
        self._session.close()


def _short(err: Exception) -> str:
    """A requests error without its stack of wrapped reprs: the innermost reason."""
    text = str(err)
    for marker in ("Connection refused", "Name or service not known", "timed out", "No route to host"):
        if marker in text:
            return marker
    return text[:200]


@dataclasses.dataclass(frozen=True)
class InfluxOptions:
    #: None: the output is off.
    url: str | None
    db: str | None
    org: str | None
    bucket: str | None
    token: str | None
    #: Where the outage buffer is kept; None: in memory.
    data_dir: str | None


def check_api(options: InfluxOptions) -> None:
    """A server URL needs a database (v1 API) or an organisation and bucket (v2)."""
    if options.url and not options.db and not (options.org and options.bucket):
        raise ValueError(
            "ENVIRO_INFLUX_URL: needs ENVIRO_INFLUX_DB (v1 API) or ENVIRO_INFLUX_ORG and ENVIRO_INFLUX_BUCKET (v2)"
        )


SETTINGS = declare(
    "influx",
    InfluxOptions,
    Setting(
        "url",
        "",
        parsers.http_url,
        "InfluxDB (or compatible) server's base URL, e.g. `http://influx:8086`, to write every reading to; "
        "empty for none",
    ),
    Setting("db", "", parsers.optional_text, "database to write to through the v1 API (`/write?db=`)"),
    Setting("org", "", parsers.optional_text, "organisation, for the v2 API (`/api/v2/write`)"),
    Setting("bucket", "", parsers.optional_text, "bucket, for the v2 API"),
    Setting("token", "", parsers.optional_text, "API token, for the v2 API", secret=True),
    shared=("data_dir",),
    check=check_api,
)


def from_context(context: OutputContext, options: InfluxOptions) -> InfluxOutput | None:
    """On when ENVIRO_INFLUX_URL is set."""
    if options.url is None:
        return None
    return InfluxOutput(
        options.url,
        context.clock,
        db=options.db,
        org=options.org,
        bucket=options.bucket,
        token=options.token,
        data_dir=options.data_dir,
        registry=context.registry,
    )
