"""The latest reading and status of every sensor: what the JSON routes answer from.

``LatestStore`` keeps the last record of each kind per sensor and judges,
at the moment of asking, whether the reading is still fresh; the HTTP
output (``LatestReadings``) and the Prometheus output both build on it.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping

from enviro_sensor.clocks import Clock
from enviro_sensor.outputs.base import Output, OutputContext
from enviro_sensor.records import LOCAL_SOURCE, Reading, StatusChange
from enviro_sensor.sensors.config import Sensor


@dataclasses.dataclass(frozen=True)
class SensorView:
    """One sensor as a request sees it."""

    name: str
    group: str
    description: str
    status: str  # starting, ok, stale, warming-up, failing, paused
    up: bool
    values: Mapping[str, float] | None
    wall_time: float | None
    age_seconds: float | None
    stale: bool
    reason: str | None
    #: The metric reason of the last error (``io_error``...), while it is failing.
    error_reason: str | None
    #: Keys of the values that ENVIRO_CALIBRATION adjusted.
    calibrated: tuple[str, ...] = ()
    #: Words about derived values, by field key (Reading.notes).
    notes: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: A duty-cycled sensor asleep between readings, and when its next reading
    #: is due (Unix time; None for a sensor read every poll, or paused).
    sleeping: bool = False
    next_reading_at: float | None = None


@dataclasses.dataclass(frozen=True)
class RemoteView:
    """One sensor of a remote node (a reading with the node as its source) as a request sees it."""

    node: str
    sensor: str
    values: Mapping[str, float]
    wall_time: float
    age_seconds: float
    stale: bool


class LatestStore:
    """The last reading and the last status change of each sensor, and their freshness."""

    def __init__(self, sensors: Mapping[str, Sensor], freshness: Mapping[str, float], clock: Clock) -> None:
        #: The time the store judges freshness by.
        self.clock = clock
        self._sensors = dict(sensors)
        #: Seconds a reading stays current, by group.
        self._freshness = dict(freshness)
        # Keyed by (source, sensor): a remote node's bme280 is not the board's.
        self._readings: dict[tuple[str, str], Reading] = {}
        self._statuses: dict[tuple[str, str], StatusChange] = {}
        self._lock = threading.Lock()
        #: Counts the records put: what is derived from the store can be kept while it stands.
        self.generation = 0

    def put_reading(self, reading: Reading) -> None:
        with self._lock:
            self._readings[(reading.source, reading.sensor)] = reading
            self.generation += 1

    def put_status(self, change: StatusChange) -> None:
        with self._lock:
            self._statuses[(change.source, change.sensor)] = change
            self.generation += 1

    def next_expiry(self) -> float:
        """The clock's monotonic time at which the next current reading turns stale (inf: none will)."""
        now = self.clock.monotonic()
        with self._lock:
            readings = list(self._readings.values())
        deadlines = (reading.monotonic + self._fresh_for(reading) for reading in readings)
        return min((deadline for deadline in deadlines if deadline >= now), default=float("inf"))

    def _fresh_for(self, reading: Reading) -> float:
        if reading.source != LOCAL_SOURCE:
            return reading.fresh_for if reading.fresh_for is not None else 0.0
        sensor = self._sensors.get(reading.sensor)
        return self._freshness.get(sensor.group, float("inf")) if sensor is not None else float("inf")

    def sensors(self) -> dict[str, Sensor]:
        """The declared sensors by name (fixed at construction)."""
        return dict(self._sensors)

    def view(self, name: str) -> SensorView:
        """Sensor ``name`` now: KeyError for a sensor that was never declared."""
        sensor = self._sensors[name]
        now = self.clock.monotonic()
        with self._lock:
            reading = self._readings.get((LOCAL_SOURCE, name))
            change = self._statuses.get((LOCAL_SOURCE, name))
        age = now - reading.monotonic if reading is not None else None
        stale = age is not None and age > self._freshness.get(sensor.group, float("inf"))
        status, reason = _judge(change, reading, stale, now)
        return SensorView(
            name=name,
            group=sensor.group,
            description=sensor.description,
            status=status,
            up=change.up if change is not None else False,
            # Shared, not copied: a Reading's values never change once made.
            values=reading.values if reading is not None else None,
            wall_time=reading.time if reading is not None else None,
            age_seconds=age,
            stale=stale,
            reason=reason,
            error_reason=change.error_reason if change is not None else None,
            calibrated=reading.calibrated if reading is not None else (),
            notes=reading.notes if reading is not None else {},
            sleeping=change.sleeping if change is not None else False,
            next_reading_at=change.next_reading_at if change is not None else None,
        )

    def views(self, group: str | None = None) -> list[SensorView]:
        """Every declared sensor (or one group's), in declaration order."""
        return [self.view(name) for name, sensor in self.sensors().items() if group in (None, sensor.group)]

    def remote_views(self) -> list[RemoteView]:
        """The latest reading of every remote node's sensors, stale ones marked."""
        now = self.clock.monotonic()
        with self._lock:
            readings = [r for (source, _), r in self._readings.items() if source != LOCAL_SOURCE]
        return [
            RemoteView(
                node=reading.source,
                sensor=reading.sensor,
                values=reading.values,
                wall_time=reading.time,
                age_seconds=now - reading.monotonic,
                stale=now - reading.monotonic > (reading.fresh_for if reading.fresh_for is not None else 0.0),
            )
            for reading in readings
        ]


def _judge(
    change: StatusChange | None, reading: Reading | None, stale: bool, now: float
) -> tuple[str, str | None]:
    """Status and reason from the last status change and the reading's freshness now."""
    if change is not None and change.status == "paused":
        return "paused", change.reason
    if change is not None and change.status == "warming-up":
        left = change.warming_up_left or 0.0
        return "warming-up", f"warming up, {max(0.0, left - (now - change.monotonic)):.0f} s left"
    if reading is not None and not stale:
        return "ok", change.reason if change is not None and change.status == "ok" else None
    if reading is not None:
        return "stale", (change.reason if change is not None else None) or "no new reading"
    if change is not None:
        return change.status, change.reason
    return "starting", "no reading yet"


class LatestReadings(Output):
    """The HTTP routes' cache, as an output."""

    name = "http"

    def __init__(self, store: LatestStore) -> None:
        self.store = store

    def handle_reading(self, reading: Reading) -> None:
        self.store.put_reading(reading)

    def handle_status(self, change: StatusChange) -> None:
        self.store.put_status(change)


def from_context(context: OutputContext, options: None = None) -> LatestReadings:
    """Always on: the JSON routes answer from it."""
    return LatestReadings(LatestStore(context.sensors, context.freshness, context.clock))
