"""sensor.community (formerly luftdaten.info): particulates and weather posted every 145 s.

Off unless ENVIRO_SENSOR_COMMUNITY_ID is set (``raspi-`` and the Pi's
serial number, as registered at devices.sensor.community). Every 145 s, the
interval of the project's own firmware, the mean of the readings since the
last post goes to the push API, one request per sensor "pin" as the API
documents it:

- X-Pin 1 (a PM sensor): ``P1`` PM10 and ``P2`` PM2.5 in ug/m3, from the
  PMS5003's atmospheric values (the ambient air, not its factory CF=1);
- X-Pin 11 (a BME280): ``temperature`` in C, ``humidity`` in %,
  ``pressure`` in Pa; the CPU-heat-compensated temperature and humidity
  when there are, since the raw ones read the Pi's warmth.

Each request carries ``X-Sensor`` (the id) and ``X-Pin``, and a JSON body
``{"software_version": ..., "sensordatavalues": [{"value_type": ..., "value": "..."}]}``.
A post that fails is counted (the record that triggered it is dropped with
reason ``error``) and the next one waits twice as long, up to an hour.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
from collections.abc import Mapping

from enviro_sensor.config import parsers
from enviro_sensor.config.declarations import Setting, declare
from enviro_sensor.outputs.base import Output, OutputContext, Unavailable
from enviro_sensor.records import LOCAL_SOURCE, Reading, StatusChange
from enviro_sensor.version import SERVICE, VERSION

log = logging.getLogger(__name__)

SEND_SECONDS = 145.0
MAX_BACKOFF_SECONDS = 3600.0
TIMEOUT = (3.05, 20.0)
# Pin -> sensor -> (value_type, reading key, factor), first key present wins.
PINS: Mapping[str, tuple[str, tuple[tuple[str, tuple[str, ...], float], ...]]] = {
    "1": (
        "pms5003",
        (
            ("P1", ("pm10_atmospheric_micrograms_per_cubic_meter",), 1.0),
            ("P2", ("pm2_5_atmospheric_micrograms_per_cubic_meter",), 1.0),
        ),
    ),
    "11": (
        "bme280",
        (
            ("temperature", ("temperature_compensated_celsius", "temperature_celsius"), 1.0),
            ("humidity", ("humidity_compensated_percent", "humidity_percent"), 1.0),
            ("pressure", ("pressure_hectopascals",), 100.0),
        ),
    ),
}


class SensorCommunity(Output):
    """Averages readings over each 145 s window and posts them."""

    name = "sensor_community"

    def __init__(self, sensor_id: str, url: str) -> None:
        self.sensor_id = sensor_id
        self.url = url
        # requests is imported by an output that is on: the registry imports
        # this module in every service, and requests with urllib3 costs ~5 MiB.
        import requests

        self._session = requests.Session()
        self._sums: dict[str, dict[str, float]] = collections.defaultdict(
            lambda: collections.defaultdict(float)
        )
        self._counts: collections.Counter[str] = collections.Counter()
        self._next_send: float | None = None
        self._backoff = SEND_SECONDS
        self._connected = True

    @property
    def connected(self) -> bool:
        return self._connected

    def handle_status(self, change: StatusChange) -> None:
        """Nothing to post: a sensor without readings is simply left out."""

    def handle_reading(self, reading: Reading) -> None:
        if reading.source != LOCAL_SOURCE:
            return  # the station is this board: a remote node's values are not its own
        # The reading's own time, not the time it reached this thread: the
        # windows follow the measurements, however far behind the queue is.
        now = reading.monotonic
        if self._next_send is None:
            self._next_send = now + SEND_SECONDS
        for pin, (sensor, values) in PINS.items():
            if reading.sensor != sensor:
                continue
            for value_type, keys, factor in values:
                key = next((k for k in keys if reading.values.get(k) is not None), None)
                if key is not None:
                    self._sums[pin][value_type] += reading.values[key] * factor
            self._counts[pin] += 1
        if now >= self._next_send:
            self._send(now)

    def payloads(self) -> dict[str, dict]:
        """The body for each pin with readings in this window."""
        bodies = {}
        for pin, count in self._counts.items():
            if not count:
                continue
            values = [
                {"value_type": value_type, "value": f"{total / count:.2f}"}
                for value_type, total in self._sums[pin].items()
            ]
            bodies[pin] = {"software_version": f"{SERVICE}-{VERSION}", "sensordatavalues": values}
        return bodies

    def _send(self, now: float) -> None:
        import requests  # imported already by __init__: a lookup

        bodies = self.payloads()
        self._sums.clear()
        self._counts.clear()
        try:
            for pin, body in bodies.items():
                answer = self._session.post(
                    self.url,
                    json=body,
                    headers={"X-Pin": pin, "X-Sensor": self.sensor_id, "User-Agent": f"{SERVICE}/{VERSION}"},
                    timeout=TIMEOUT,
                )
                if answer.status_code >= 300:
                    raise requests.HTTPError(f"HTTP {answer.status_code} for X-Pin {pin}")
        except requests.RequestException as err:
            message = f"sensor.community post failed: {err}; next try in {self._backoff * 2:.0f} s"
            if self._connected:  # one line per outage
                log.warning("%s", message)
            self._connected = False
            self._backoff = min(MAX_BACKOFF_SECONDS, self._backoff * 2)
            self._next_send = now + self._backoff
            raise Unavailable(message) from None
        self._connected = True
        self._backoff = SEND_SECONDS
        self._next_send = now + SEND_SECONDS

    def close(self) -> None:
        self._session.close()


@parsers.described("an id such as raspi-00000000abcdef12, or empty for none")
def sensor_id(text: str) -> str | None:
    value = text.strip()
    if value and (any(c.isspace() for c in value) or len(value) > 64):
        raise ValueError(f"expected an id such as raspi-00000000abcdef12, got {text!r}")
    return value or None


@dataclasses.dataclass(frozen=True)
class SensorCommunityOptions:
    #: None: the output is off.
    id: str | None
    url: str


SETTINGS = declare(
    "sensor_community",
    SensorCommunityOptions,
    Setting(
        "id",
        "",
        sensor_id,
        "sensor id registered at sensor.community (`raspi-` and the Pi's serial number) to post "
        "particulates and weather to every 145 s; empty for none",
    ),
    Setting(
        "url",
        "https://api.sensor.community/v1/push-sensor-data/",
        parsers.http_url,
        "sensor.community's push API",
    ),
)


def from_context(context: OutputContext, options: SensorCommunityOptions) -> SensorCommunity | None:
    """On when ENVIRO_SENSOR_COMMUNITY_ID is set."""
    if options.id is None:
        return None
    return SensorCommunity(options.id, options.url)
