"""What every sensor reader declares and does, and how its values are checked.

A reader owns one configured part: it builds the vendor driver on the board's bus
(``open``), reads one set of values in the units its fields name (``read``)
and lets go of the driver (``close``). The collector calls these from its
background threads only; no request handler touches a reader.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from enviro_sensor.clocks import Clock
    from enviro_sensor.hardware.board import Board
    from enviro_sensor.sensors.config import Sensor


@dataclasses.dataclass(frozen=True)
class Field:
    """One value a sensor gives: its JSON key, valid range, metric and label.

    ``key`` carries the unit (``pressure_hectopascals``), so JSON readers
    never guess. ``metric`` is the Prometheus name in base units; ``scale``
    converts the JSON value to it (hPa -> Pa is 100, percent -> ratio 0.01).
    ``label`` is what a person reads ("PM2.5", "Temperature (compensated)"):
    Home Assistant, the dashboard, the LCD, the API docs and CSV headers all
    show it, shown beside ``unit`` with ``decimals`` places, so none of them
    turns a JSON key into words.
    """

    key: str
    low: float
    high: float
    metric: str
    help: str
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    scale: float = 1.0
    #: A derived value that may be absent (the CPU temperature was unreadable).
    optional: bool = False
    #: Decimal places kept: about the sensor's resolution, so JSON and
    #: metrics do not show digits the chip never measured; also the places
    #: shown (0 for counts and integer readings).
    decimals: int = 2
    #: A typical indoor value, for the API documentation's examples.
    example: float | None = None
    #: What a consumer such as Home Assistant needs to show the value with no
    #: per-sensor code: its device class (None where HA has none), the unit
    #: of the JSON value as HA writes it, and its state class.
    device_class: str | None = None
    unit: str | None = None
    #: None for a state that is one of a few named values (an enum in Home
    #: Assistant): no statistics are kept of those.
    state_class: str | None = "measurement"
    #: The values an enum-like reading takes, with what each means; the
    #: reading is one of the keys (see air_quality_category).
    options: Mapping[int, str] | None = None
    #: A fact about the device rather than the room (a node's battery): Home
    #: Assistant shows it with the device's diagnostics.
    diagnostic: bool = False
    #: What a person reads; keyword-only so that no declaration can leave it out.
    label: str = dataclasses.field(kw_only=True)


@dataclasses.dataclass(frozen=True)
class Rejection:
    """A value that failed validation: which field and why."""

    field: str
    reason: str  # not_a_number, not_finite, out_of_range, missing
    value: Any


def validate(fields: tuple[Field, ...], values: Mapping[str, Any]) -> list[Rejection]:
    """Check every declared field: present, a real number, finite, in range.

    Returns the rejections; an empty list means every value may be published.
    """
    rejections = []
    for field in fields:
        value = values.get(field.key)
        if value is None and field.optional:
            continue
        if value is None:
            rejections.append(Rejection(field.key, "missing", value))
        # bool is an int subclass, and a True from a driver is never a reading.
        elif isinstance(value, bool) or not isinstance(value, int | float):
            rejections.append(Rejection(field.key, "not_a_number", value))
        elif not math.isfinite(value):
            rejections.append(Rejection(field.key, "not_finite", value))
        elif not field.low <= value <= field.high:
            rejections.append(Rejection(field.key, "out_of_range", value))
    return rejections


class WarmingUp(Exception):
    """The sensor answers but its values are not meaningful yet."""

    def __init__(self, seconds_left: float) -> None:
        super().__init__(f"warming up, {seconds_left:.0f} s left")
        self.seconds_left = seconds_left


@dataclasses.dataclass(frozen=True)
class DutyState:
    """Where a duty-cycled part is between readings (retrievers.duty)."""

    #: Fan (or whatever the part rests) off; False while it spins up after waking.
    asleep: bool
    #: Seconds until its next reading is due.
    next_reading_in: float


class Withheld(Exception):
    """A duty-cycled part gives no reading this poll: it sleeps or is settling."""

    def __init__(self, state: DutyState) -> None:
        what = "asleep" if state.asleep else "spinning up"
        super().__init__(f"{what}, next reading in {state.next_reading_in:.0f} s")
        self.state = state


# Ways any read can fail (the reason label of enviro_sensor_read_errors_total).
COMMON_ERROR_REASONS = ("setup_failed", "timeout", "io_error", "invalid_reading", "driver_error")


class SensorReader(abc.ABC):
    """One configured part, read through its vendor driver.

    Built by its kind's declaration with the configured sensor (name,
    address, bus), the kind's own options (what its ``settings`` declaration
    reads, or None when it declares none) and the clock; waits go through
    ``self.clock.sleep`` so tests move time instead of waiting.
    """

    def __init__(self, sensor: Sensor, options: Any, clock: Clock) -> None:
        self.sensor = sensor
        self.options = options
        self.clock = clock

    @property
    def name(self) -> str:
        return self.sensor.name

    @property
    def address(self) -> int:
        """The configured I2C address (only for parts on I2C)."""
        if self.sensor.address is None:
            raise TypeError(f"{self.sensor.name} is not on I2C")
        return self.sensor.address

    @abc.abstractmethod
    def open(self, board: Board) -> None:
        """Construct the driver on ``board``'s bus and pins; raise if it fails."""

    @abc.abstractmethod
    def read(self) -> dict[str, float]:
        """One set of values keyed by ``Field.key``; raise on any failure."""

    def duty_state(self) -> DutyState | None:
        """Where a duty-cycled part is now (after a read); None for a part read every poll."""
        return None

    def error_reason(self, err: BaseException) -> str | None:
        """A metric reason for a driver-specific exception; None for the generic mapping."""
        return None

    def rest(self) -> None:  # noqa: B027 - most parts idle by themselves between reads
        """The group is paused: let the part rest (a fan off); called on the sensor's worker thread."""

    def wake(self) -> None:  # noqa: B027 - see rest
        """The group is resumed: undo ``rest`` before the next read."""

    def close(self) -> None:  # noqa: B027 - most drivers hold nothing to release
        """Release the driver (a serial port, a heater pin)."""
