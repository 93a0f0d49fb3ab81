"""Where remote readings come in: authentication, replay checks, validation, publishing.

Both ways in (the TCP listener's packets and ``POST /api/nodes/<id>/readings``)
end here. A packet from a known device, with the right tag and a sequence
number above the last accepted one, has each value checked against its
``Field`` (the same check as a local reading's) and becomes ``Reading``
records with the node as their ``source``, handed to the same ``publish`` as
the collector's. With a node journal (ENVIRO_DATA_DIR set) the readings are
written to it first and the answer is ``stored`` only once they are on disk
(``nodes.journal``); without one it is ``accepted``: published, kept nowhere.
Everything else is refused with a reason and counted in
``enviro_node_packets_total{transport,result}``; an unknown device never
gets a label of its own.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector as PrometheusCollector

from enviro_sensor.clocks import Clock
from enviro_sensor.nodes import protocol
from enviro_sensor.nodes.devices import Device, Measured
from enviro_sensor.nodes.fields import BATTERY_SENSOR, BATTERY_VOLTS
from enviro_sensor.nodes.journal import Entry, NodeJournal
from enviro_sensor.nodes.protocol import Code
from enviro_sensor.nodes.sequences import FILE_NAME, SequenceStore
from enviro_sensor.records import Event, Reading, StatusChange
from enviro_sensor.sensors.base import validate
from enviro_sensor.sensors.config import FRESH_INTERVALS

log = logging.getLogger(__name__)

GROUP = "nodes"
TRANSPORTS = ("tcp", "http")
# A node that sends no interval is expected every five minutes.
DEFAULT_WAKE_SECONDS = 300
# Slack on top of three of the node's intervals: Wi-Fi association and DHCP
# can take seconds on a battery board.
FRESH_GRACE_SECONDS = 30.0


@dataclasses.dataclass(frozen=True)
class RemoteReading:
    """One of a node's sensors as a request sees it."""

    sensor: str
    values: Mapping[str, float]
    time: float
    age_seconds: float
    stale: bool


@dataclasses.dataclass(frozen=True)
class NodeView:
    """A node now: when it last reported, its battery, its readings."""

    device: Device
    last_contact: float | None
    age_seconds: float | None
    stale: bool
    fresh_for: float | None
    battery_volts: float | None
    measure_interval: int | None
    wake_interval: int | None
    sequence: int | None
    transport: str | None
    stored: int
    refused: int
    last_refusal: str | None
    readings: tuple[RemoteReading, ...]

    @property
    def status(self) -> str:
        if self.last_contact is None:
            return "waiting"
        return "stale" if self.stale else "ok"


@dataclasses.dataclass(frozen=True)
class _Visit:
    """What one packet says of its node beside its readings."""

    battery_volts: float | None
    measure_interval: int
    wake_interval: int
    transport: str
    now: float
    monotonic: float
    fresh_for: float


def _journaled(entry: Entry) -> list[Reading]:
    return [dataclasses.replace(reading, journal=entry.id) for reading in entry.readings]


@dataclasses.dataclass
class _NodeState:
    last_wall: float | None = None
    last_monotonic: float | None = None
    fresh_for: float | None = None
    battery_volts: float | None = None
    measure_interval: int | None = None
    wake_interval: int | None = None
    transport: str | None = None
    stored: int = 0
    refused: int = 0
    last_refusal: str | None = None
    readings: dict[str, Reading] = dataclasses.field(default_factory=dict)
    failing: set[str] = dataclasses.field(default_factory=set)


class NodeIntake:
    """Accepts or refuses what nodes send; keeps each node's latest state."""

    def __init__(
        self,
        devices: Sequence[Device],
        publish: Callable[[Event], None],
        clock: Clock,
        registry: CollectorRegistry | None = None,
        data_dir: str | None = None,
        journal: NodeJournal | None = None,
    ) -> None:
        self.devices = {device.id: device for device in devices}
        self._by_name = {device.name: device for device in devices}
        self._publish = publish
        self._clock = clock
        self._lock = threading.Lock()
        self._states = {device.id: _NodeState() for device in devices}
        self._results = {(t, code.reason): 0 for t in TRANSPORTS for code in Code}
        self._rejected: dict[tuple[str, str, str], int] = {}
        path = Path(data_dir) / FILE_NAME if data_dir else None
        self.sequences = SequenceStore(path, clock)
        self.journal = journal
        self._store_failing = False
        if registry is not None:
            registry.register(_NodeMetrics(self))

    # -- lookups ------------------------------------------------------------

    def find(self, name_or_id: str) -> Device | None:
        """A device by its name or its decimal id."""
        device = self._by_name.get(name_or_id)
        # ASCII digits only: str.isdigit() also takes "¹", which int() refuses.
        if device is None and name_or_id.isascii() and name_or_id.isdigit():
            device = self.devices.get(int(name_or_id))
        return device

    @property
    def durable(self) -> bool:
        """Whether ``stored`` means on disk (and receiving a packet may wait for the disk)."""
        return self.journal is not None

    def count(self, code: Code, transport: str = "tcp") -> None:
        """Count a packet's result (the listener counts what never reaches ``receive``)."""
        with self._lock:
            self._results[(transport, code.reason)] += 1

    def results(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._results)

    # -- the binary packet --------------------------------------------------

    def receive(self, data: bytes) -> bytes:
        """One whole packet in, its answer out; never raises for anything a client sends."""
        try:
            packet = protocol.decode(data)
        except protocol.Refused as refused:
            self.count(refused.code)
            return protocol.encode_answer(refused.code, refused.sequence, None)
        device = self.devices.get(packet.device)
        if device is None:
            self.count(Code.UNKNOWN_DEVICE)
            return protocol.encode_answer(Code.UNKNOWN_DEVICE, packet.sequence, None)
        if not protocol.tag_matches(packet, device.key):
            # A wrong tag proves nothing about who sent it: the node's state is left alone.
            self.count(Code.BAD_TAG)
            return protocol.encode_answer(Code.BAD_TAG, packet.sequence, None)
        if len(packet.measurements) != len(device.measurements):
            code = self._refuse(device, Code.MALFORMED)
        else:
            code = self._store(
                device,
                packet.sequence,
                packet.battery_mv / 1000 if packet.battery_mv else None,
                packet.measure_interval,
                packet.wake_interval,
                list(zip(device.measurements, packet.values, strict=True)),
                "tcp",
            )
        return protocol.encode_answer(code, packet.sequence, device.key, packet.tag)

    # -- both ways in -------------------------------------------------------

    def push(
        self,
        device: Device,
        sequence: int,
        battery_volts: float | None,
        measure_interval: int,
        wake_interval: int,
        values: list[tuple[Measured, float]],
        transport: str = "http",
    ) -> Code:
        """Store values an authenticated device sent (the HTTP route's way in)."""
        return self._store(
            device, sequence, battery_volts, measure_interval, wake_interval, values, transport
        )

    def _refuse(self, device: Device, code: Code, transport: str = "tcp") -> Code:
        with self._lock:
            self._results[(transport, code.reason)] += 1
            state = self._states[device.id]
            state.refused += 1
            state.last_refusal = code.reason
        return code

    def _store(
        self,
        device: Device,
        sequence: int,
        battery_volts: float | None,
        measure_interval: int,
        wake_interval: int,
        values: list[tuple[Measured, float]],
        transport: str,
    ) -> Code:
        if not self.sequences.accept(device.id, sequence):
            return self._refuse(device, Code.REPLAYED, transport)
        by_sensor: dict[str, dict[str, float]] = {}
        for measured, value in values:
            by_sensor.setdefault(measured.sensor, {})[measured.field.key] = value
        if battery_volts is not None:
            by_sensor.setdefault(BATTERY_SENSOR, {}).setdefault(BATTERY_VOLTS.key, battery_volts)
        rejections = []
        for sensor, sensor_values in by_sensor.items():
            # The fields sent: a push over HTTP may carry some of a node's measurements.
            declared = tuple(
                m.field for m in device.measurements if m.sensor == sensor and m.field.key in sensor_values
            )
            if sensor == BATTERY_SENSOR and BATTERY_VOLTS not in declared:
                declared = (*declared, BATTERY_VOLTS)
            rejections += [(sensor, r) for r in validate(declared, sensor_values)]
        now, monotonic = self._clock.now(), self._clock.monotonic()
        if rejections:
            with self._lock:
                for sensor, rejection in rejections:
                    key = (device.name, f"{sensor}.{rejection.field}", rejection.reason)
                    self._rejected[key] = self._rejected.get(key, 0) + 1
            for sensor in by_sensor:
                self._status(device, sensor, "failing", "invalid_reading", now, monotonic)
            log.info(
                "node %s: values refused: %s",
                device.name,
                ", ".join(f"{s}.{r.field} {r.reason}" for s, r in rejections),
            )
            return self._refuse(device, Code.INVALID_VALUES, transport)
        wake = wake_interval or DEFAULT_WAKE_SECONDS
        fresh_for = FRESH_INTERVALS * max(wake, measure_interval) + FRESH_GRACE_SECONDS
        readings = [
            Reading(
                source=device.name,
                sensor=sensor,
                group=GROUP,
                values={
                    key: round(value, _decimals(device, sensor, key)) for key, value in sensor_values.items()
                },
                time=now,
                monotonic=monotonic,
                duration=0.0,
                fresh_for=fresh_for,
            )
            for sensor, sensor_values in by_sensor.items()
        ]
        visit = _Visit(battery_volts, measure_interval, wake_interval, transport, now, monotonic, fresh_for)
        if self.journal is None:
            self._publish_visit(device, visit, readings, Code.ACCEPTED)
            return Code.ACCEPTED
        try:
            # Returns once on disk; the readings are published by then, in journal order.
            self.journal.append(
                device.id,
                sequence,
                readings,
                lambda entry: self._publish_visit(device, visit, _journaled(entry), Code.STORED),
            )
        except OSError as err:
            if not self._store_failing:
                log.error("nodes: cannot store packets (%s); answering not_stored until it can", err)
            self._store_failing = True
            return self._refuse(device, Code.NOT_STORED, transport)
        if self._store_failing:
            log.info("nodes: packets are stored again")
            self._store_failing = False
        return Code.STORED

    def _publish_visit(self, device: Device, visit: _Visit, readings: list[Reading], code: Code) -> None:
        """A packet that is kept (or accepted without a journal): the node's state, then its records."""
        by_sensor = {reading.sensor for reading in readings}
        with self._lock:
            self._results[(visit.transport, code.reason)] += 1
            state = self._states[device.id]
            state.last_wall, state.last_monotonic, state.fresh_for = (
                visit.now,
                visit.monotonic,
                visit.fresh_for,
            )
            state.battery_volts = (
                visit.battery_volts if visit.battery_volts is not None else state.battery_volts
            )
            state.measure_interval, state.wake_interval = visit.measure_interval, visit.wake_interval
            state.transport = visit.transport
            state.stored += 1
            fresh_sensors = [
                r.sensor for r in readings if r.sensor not in state.readings or r.sensor in state.failing
            ]
            state.failing.difference_update(by_sensor)
            for reading in readings:
                state.readings[reading.sensor] = reading
        for sensor in fresh_sensors:
            self._status(device, sensor, "ok", None, visit.now, visit.monotonic)
        for reading in readings:
            self._publish(reading)

    def replay(self, replay: Callable[[Event], None]) -> int:
        """Hand what the journal held at start-up to ``replay`` (the outputs that keep readings),
        and take its sequence numbers; returns the number of packets."""
        if self.journal is None:
            return 0
        entries, self.journal.replayed = self.journal.replayed, []
        now, monotonic = self._clock.now(), self._clock.monotonic()
        for entry in entries:
            self.sequences.accept(entry.device, entry.sequence)
            for reading in entry.readings:
                # Its age as it is: a replayed reading is not a current one.
                replay(dataclasses.replace(reading, monotonic=monotonic - (now - reading.time)))
        if entries:
            log.info("nodes: %d stored packets replayed from %s", len(entries), self.journal.path)
        return len(entries)

    def _status(
        self, device: Device, sensor: str, status: str, reason: str | None, now: float, monotonic: float
    ) -> None:
        if status == "failing":
            with self._lock:
                state = self._states[device.id]
                if sensor in state.failing:
                    return
                state.failing.add(sensor)
        self._publish(
            StatusChange(
                source=device.name,
                sensor=sensor,
                group=GROUP,
                status=status,
                up=status == "ok",
                reason=reason,
                error_reason=reason,
                time=now,
                monotonic=monotonic,
            )
        )

    # -- what requests see --------------------------------------------------

    def view(self, device: Device) -> NodeView:
        now = self._clock.monotonic()
        with self._lock:
            state = dataclasses.replace(
                self._states[device.id], readings=dict(self._states[device.id].readings)
            )
        age = now - state.last_monotonic if state.last_monotonic is not None else None
        fresh_for = state.fresh_for if state.fresh_for is not None else float("inf")
        readings = tuple(
            RemoteReading(
                sensor=reading.sensor,
                values=reading.values,
                time=reading.time,
                age_seconds=now - reading.monotonic,
                stale=now - reading.monotonic > (reading.fresh_for or fresh_for),
            )
            for reading in state.readings.values()
        )
        return NodeView(
            device=device,
            last_contact=state.last_wall,
            age_seconds=age,
            stale=age is not None and age > fresh_for,
            fresh_for=state.fresh_for,
            battery_volts=state.battery_volts,
            measure_interval=state.measure_interval,
            wake_interval=state.wake_interval,
            sequence=self.sequences.last(device.id),
            transport=state.transport,
            stored=state.stored,
            refused=state.refused,
            last_refusal=state.last_refusal,
            readings=readings,
        )

    def views(self) -> list[NodeView]:
        return [self.view(device) for device in self.devices.values()]

    def rejected(self) -> dict[tuple[str, str, str], int]:
        with self._lock:
            return dict(self._rejected)

    def close(self) -> None:
        """Write the sequence numbers (at shutdown)."""
        self.sequences.flush()
        if self.journal is not None:
            self.journal.close()


def _decimals(device: Device, sensor: str, key: str) -> int:
    for measured in device.measurements:
        if measured.sensor == sensor and measured.field.key == key:
            return measured.field.decimals
    return BATTERY_VOLTS.decimals


class _NodeMetrics(PrometheusCollector):
    """Packets by result, and each configured node's contact, at scrape time."""

    def __init__(self, intake: NodeIntake) -> None:
        self._intake = intake

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        packets = CounterMetricFamily(
            "enviro_node_packets",
            "Packets and pushes from remote nodes by transport (tcp, http) and result: stored, or why refused.",
            labels=["transport", "result"],
        )
        for (transport, result), count in self._intake.results().items():
            packets.add_metric([transport, result], count)
        rejected = CounterMetricFamily(
            "enviro_node_readings_rejected",
            "Remote values that failed their field's validation, by node, field and reason.",
            labels=["node", "field", "reason"],
        )
        for (node, field, reason), count in self._intake.rejected().items():
            rejected.add_metric([node, field, reason], count)
        up = GaugeMetricFamily(
            "enviro_node_up",
            "1 while the node's last packet is within three of its intervals, else 0.",
            labels=["node"],
        )
        contact = GaugeMetricFamily(
            "enviro_node_last_contact_timestamp_seconds",
            "When the node's last packet was stored (Unix time).",
            labels=["node"],
        )
        for view in self._intake.views():
            up.add_metric([view.device.name], 1.0 if view.status == "ok" else 0.0)
            if view.last_contact is not None:
                contact.add_metric([view.device.name], view.last_contact)
        yield from (packets, rejected, up, contact)
