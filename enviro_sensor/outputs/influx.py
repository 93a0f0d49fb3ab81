"""InfluxDB line protocol, batched, with an on-disk buffer that bridges an outage.

Off unless ENVIRO_INFLUX_URL is set. With ENVIRO_INFLUX_DB it writes through
the v1 API (``/write?db=``, InfluxDB 1.x, VictoriaMetrics); with
ENVIRO_INFLUX_ORG and ENVIRO_INFLUX_BUCKET through v2 (``/api/v2/write``,
ENVIRO_INFLUX_TOKEN as the token). One point per reading: measurement
``enviro``, tags ``host`` and ``sensor``, the reading's values as fields
under their JSON keys, in milliseconds.

Points are sent in batches (every FLUSH_SECONDS or BATCH_LINES lines). A
batch the server does not take is appended to ``influx-buffer.lp`` in
ENVIRO_DATA_DIR (in memory when that is not set), and sent before anything
newer once the server answers again; writes are tried again after 1 s, 2 s,
4 s... up to 60 s. Past BUFFER_BYTES the oldest points are dropped and
counted. The SD card sees one append per failed batch, not per point.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import socket
import urllib.parse
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge

from enviro_sensor.clocks import Clock
from enviro_sensor.config import parsers
from enviro_sensor.config.declarations import Setting, declare
from enviro_sensor.outputs.base import Output, OutputContext
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


class Buffer:
    """Lines waiting for the server: a file when given a directory, else memory; at most ``limit`` bytes."""

    def __init__(self, directory: Path | None, limit: int = BUFFER_BYTES) -> None:
        self.path = directory / BUFFER_NAME if directory is not None else None
        self.limit = limit
        self._memory: list[str] = []
        self.dropped = 0
        #: Lines held, kept here so that an outage does not mean rereading the file.
        self.count = len(self.lines())

    def lines(self) -> list[str]:
        if self.path is None:
            return list(self._memory)
        if not self.path.exists():
            return []
        # A power cut during an append can leave a partial last line: skip it.
        text = self.path.read_text(errors="replace")
        whole = text.split("\n")[:-1]
        return [item for item in whole if item]

    def add(self, lines: list[str]) -> None:
        if self.path is None:
            self._memory.extend(lines)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as file:
                file.write("".join(item + "\n" for item in lines))
        self.count += len(lines)
        if self.size() > self.limit:
            self._trim()

    def size(self) -> int:
        if self.path is None:
            return sum(len(item) + 1 for item in self._memory)
        return self.path.stat().st_size if self.path.exists() else 0

    def _trim(self) -> None:
        kept = self.lines()
        total = sum(len(item) + 1 for item in kept)
        start = 0
        while total > self.limit and start < len(kept):
            total -= len(kept[start]) + 1
            start += 1
        self.dropped += start
        self.clear()
        if kept[start:]:
            self.add(kept[start:])

    def clear(self) -> None:
        self.count = 0
        self._memory.clear()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


class InfluxOutput(Output):
    """Writes every reading as a point, in batches."""

    name = "influxdb"

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
    ) -> None:
        base = url.rstrip("/")
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
        self._pending: list[str] = []
        self._first_pending: float | None = None
        self.buffer = Buffer(Path(data_dir) if data_dir else None)
        self._retry_at = 0.0
        self._retry_delay = RETRY_MIN
        self._connected = True
        self._backlog = self.buffer.count
        self._dropped: Counter | None = None
        if registry is not None:
            buffered = Gauge(
                "enviro_output_buffered_points",
                "Points held for a server that did not take them, by output.",
                ["output"],
                registry=registry,
            )
            buffered.labels(self.name).set_function(lambda: self._backlog)
            self._dropped = Counter(
                "enviro_output_buffer_dropped_points",
                "Oldest points dropped from a full outage buffer, by output.",
                ["output"],
                registry=registry,
            ).labels(self.name)

    @property
    def connected(self) -> bool:
        return self._connected

    def handle_reading(self, reading: Reading) -> None:
        text = line(reading, self._host)
        if text is None:
            return
        if self._first_pending is None:
            self._first_pending = self._clock.monotonic()
        self._pending.append(text)
        if (
            len(self._pending) >= BATCH_LINES
            or self._clock.monotonic() - self._first_pending >= FLUSH_SECONDS
        ):
            self.flush()

    def handle_status(self, change: StatusChange) -> None:
        """Statuses are not measurements: InfluxDB gets readings only."""

    def flush(self) -> None:
        """Send what is pending, after any backlog; keep what the server does not take."""
        import requests  # imported already by __init__: a lookup

        batch, self._pending, self._first_pending = self._pending, [], None
        now = self._clock.monotonic()
        if now < self._retry_at:
            self._keep(batch)
            return
        backlog = self.buffer.lines()
        try:
            for start in range(0, len(backlog), BATCH_LINES):
                self._write(backlog[start : start + BATCH_LINES])
            if backlog:
                self.buffer.clear()
                log.info("InfluxDB at %s: sent %d buffered points", self.where, len(backlog))
            if batch:
                self._write(batch)
        except (requests.RequestException, WriteRefused) as err:
            if self._connected:  # one line per outage
                log.warning("InfluxDB at %s: write failed (%s); buffering points", self.where, err)
            self._connected = False
            self._retry_at = now + self._retry_delay
            self._retry_delay = min(RETRY_MAX, self._retry_delay * 2)
            # Points already sent from the backlog may go again: a point with
            # the same series and time replaces itself, so nothing doubles.
            self._keep(batch)
            return
        self._connected = True
        self._retry_delay = RETRY_MIN
        self._backlog = 0

    def _keep(self, batch: list[str]) -> None:
        before = self.buffer.dropped
        if batch:
            self.buffer.add(batch)
        if self._dropped is not None and self.buffer.dropped > before:
            self._dropped.inc(self.buffer.dropped - before)
        self._backlog = self.buffer.count

    def _write(self, lines: list[str]) -> None:
        body = "\n".join(lines).encode()
        answer = self._session.post(self.write_url, data=body, headers=self._headers, timeout=TIMEOUT)
        if answer.status_code >= 500:
            raise WriteRefused(f"HTTP {answer.status_code}")
        if answer.status_code >= 300:
            # A 4xx is about the points or the credentials: sending them again would not help.
            log.error(
                "InfluxDB at %s refused %d points: HTTP %d %s",
                self.where,
                len(lines),
                answer.status_code,
                answer.text[:200],
            )

    def close(self) -> None:
        self.flush()
        self._session.close()


class WriteRefused(Exception):
    """The server answered, but with an error worth trying again (5xx)."""


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
