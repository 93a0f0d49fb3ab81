"""The sensors and groups this service runs, from the sensors' options and the kind table.

The Enviro+'s own parts are always configured; ``ENVIRO_I2C_SENSORS`` adds
parts on the I2C header as ``kind@address[:bus]``, e.g.
``aht10@0x38,bmp280@0x77`` (bus 1, the Pi's header bus, when not given). A
sensor is named after its kind, or ``kind_0xNN`` when a kind appears more
than once; that name is its ``sensor`` label and its route. Two sensors at
one address on one bus are refused, the board's own parts included.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from enviro_sensor.sensors import registry
from enviro_sensor.sensors.base import Field
from enviro_sensor.sensors.registry import SensorKind

if TYPE_CHECKING:
    from enviro_sensor.sensors.options import SensorOptions

# 7-bit addresses outside the I2C reserved ranges (0x00-0x07, 0x78-0x7F).
FIRST_ADDRESS, LAST_ADDRESS = 0x08, 0x77
BOARD_BUS = 1
# A reading stays fresh for this many polling intervals (plus the read's own
# time): two polls may fail before it is called stale.
FRESH_INTERVALS = 3


@dataclasses.dataclass(frozen=True)
class I2CSensorSpec:
    """One item of ENVIRO_I2C_SENSORS."""

    name: str
    kind: str
    address: int
    bus: int


@dataclasses.dataclass(frozen=True)
class Sensor:
    """One configured part: its name, its kind's declaration and where it is."""

    name: str
    kind: SensorKind
    address: int | None
    bus: int
    group: str

    @property
    def description(self) -> str:
        where = f" at 0x{self.address:02x}" if self.address is not None else ""
        bus = f" on bus {self.bus}" if self.address is not None and self.bus != BOARD_BUS else ""
        return f"{self.kind.description}{where}{bus}"

    @property
    def fields(self) -> tuple[Field, ...]:
        return self.kind.fields


@dataclasses.dataclass(frozen=True)
class GroupConfig:
    """A group as this service runs it: its sensors, schedule and routes."""

    name: str
    description: str
    interval: float
    read_timeout: float
    enabled: bool
    sensors: tuple[Sensor, ...]
    aliases: tuple[str, ...] = ()
    #: Why the group is not polled, when it is not.
    disabled_reason: str | None = None
    #: Seconds between readings of a duty-cycled group (its period); 0: every poll.
    reading_period: float = 0.0

    @property
    def route(self) -> str:
        return f"/api/sensors/{self.name}"

    @property
    def routes(self) -> tuple[str, ...]:
        return (self.route, *(f"/api/sensors/{alias}" for alias in self.aliases))

    @property
    def freshness(self) -> float:
        """Seconds a reading counts as current (a duty cycle's period longer)."""
        return FRESH_INTERVALS * self.interval + self.read_timeout + self.reading_period

    @property
    def sampling_interval(self) -> float:
        """Seconds between readings: the duty cycle's period, else the polling interval."""
        return max(self.interval, self.reading_period)


def _parse_item(item: str, kinds: dict[str, SensorKind]) -> tuple[str, int, int]:
    kind, at, where = (part.strip() for part in item.partition("@"))
    kind = kind.lower()
    if not at or not kind or not where:
        raise ValueError(f"expected kind@address, got {item!r}")
    listable = sorted(name for name, k in kinds.items() if k.on_i2c and not k.on_board)
    if kind not in kinds or not kinds[kind].on_i2c:
        raise ValueError(f"unknown sensor kind {kind!r} in {item!r} (known: {', '.join(listable)})")
    if kinds[kind].on_board:
        raise ValueError(f"{kind} is on the Enviro+ itself and always read; list only extra sensors")
    address_text, _, bus_text = where.partition(":")
    try:
        address = int(address_text, 0)
    except ValueError:
        raise ValueError(f"bad address {address_text!r} in {item!r} (write it like 0x38)") from None
    if not FIRST_ADDRESS <= address <= LAST_ADDRESS:
        raise ValueError(f"address 0x{address:02x} in {item!r} is outside 0x08..0x77")
    bus = BOARD_BUS
    if bus_text:
        if not bus_text.isdigit():
            raise ValueError(f"bad bus number {bus_text!r} in {item!r}")
        bus = int(bus_text)
    return kind, address, bus


def parse_i2c_sensors(text: str) -> tuple[I2CSensorSpec, ...]:
    """Parse ENVIRO_I2C_SENSORS; raises ValueError naming the bad item or the collision."""
    kinds = registry.kinds()
    items = [_parse_item(item, kinds) for item in text.split(",") if item.strip()]
    taken = {
        (BOARD_BUS, kind.address): name
        for name, kind in kinds.items()
        if kind.on_board and kind.address is not None
    }
    for kind, address, bus in items:
        holder = taken.get((bus, address))
        if holder is not None:
            where = "the board's" if holder in kinds and kinds[holder].on_board else "another"
            raise ValueError(
                f"{kind}@0x{address:02x} collides with {where} {holder} at 0x{address:02x} on bus {bus}"
            )
        taken[(bus, address)] = kind
    counts = collections.Counter(kind for kind, _, _ in items)
    return tuple(
        I2CSensorSpec(kind if counts[kind] == 1 else f"{kind}_0x{address:02x}", kind, address, bus)
        for kind, address, bus in items
    )


def configured_sensors(i2c_sensors: tuple[I2CSensorSpec, ...]) -> list[Sensor]:
    """The board's own parts, then the listed extra ones."""
    kinds = registry.kinds()
    sensors = [
        Sensor(name, kind, kind.address, BOARD_BUS, kind.group)
        for name, kind in kinds.items()
        if kind.on_board
    ]
    for spec in i2c_sensors:
        kind = kinds[spec.kind]
        sensors.append(Sensor(spec.name, kind, spec.address, spec.bus, kind.group))
    return sensors


def _reading_period(members: tuple[Sensor, ...], kind_options: Mapping[str, Any]) -> float:
    """The longest period a member's duty cycle sets (the PMS5003's ENVIRO_PARTICULATES_DUTY); 0 for none."""
    periods = [
        sensor.kind.reading_period(kind_options.get(sensor.kind.kind))
        for sensor in members
        if sensor.kind.reading_period is not None
    ]
    return max(periods, default=0.0)


def build_groups(options: SensorOptions, kind_options: Mapping[str, Any] | None = None) -> list[GroupConfig]:
    """Every declared group with its configured sensors (no I/O).

    ``kind_options`` are the kinds' own options by kind name (for a duty cycle's period).
    """
    kind_options = kind_options or {}
    sensors = configured_sensors(options.i2c_sensors)
    groups = []
    for name, spec in registry.groups().items():
        members = tuple(sensor for sensor in sensors if sensor.group == name)
        reason = None
        if name not in options.groups:
            reason = "not in ENVIRO_GROUPS"
        elif not members:
            reason = "no sensors listed"
        groups.append(
            GroupConfig(
                name=name,
                description=spec.description,
                interval=options.intervals.get(name, spec.interval),
                read_timeout=options.read_timeout,
                enabled=reason is None,
                sensors=members,
                aliases=spec.aliases,
                disabled_reason=reason,
                reading_period=_reading_period(members, kind_options),
            )
        )
    return groups
