"""Per-sensor calibration and the room reference: values adjusted before validation.

``ENVIRO_CALIBRATION`` corrects a sensor's field against a trusted
instrument, as ``sensor.field=adjustment`` items, comma separated:

- ``bme280.temperature_celsius=-1.5``: add an offset (in the field's unit);
- ``aht10.humidity_percent=*1.02``: multiply;
- ``aht10.humidity_percent=*1.02+0.5``: multiply, then add.

``ENVIRO_ROOM_REFERENCE`` names a sensor on a cable, away from the Pi's
heat (an AHT10 or an SCD41), whose temperature and humidity become the
BME280's compensated (room) values instead of the estimate from the CPU's
temperature.

Both are steps of the collector, between a driver's read and validation:
the reader gives what its chip measured; the collector adds the reference
sensor's latest valid reading (it holds every sensor's latest) and then
each field's calibration; validation then checks the values as published.
So the BME280's reader never looks at another sensor, and a calibrated
value out of its datasheet range is rejected like a raw one.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping

# "*1.02", "-1.5", "*1.02+0.5", "*0.98-1": an optional factor, an optional offset.
_ADJUSTMENT = re.compile(
    r"^(?:\*(?P<scale>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?))?"
    r"(?P<offset>[-+][0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)?$"
)
# The fields a room reference replaces, and where each value comes from.
ROOM_FIELDS = {
    "temperature_compensated_celsius": "temperature_celsius",
    "humidity_compensated_percent": "humidity_percent",
}


@dataclasses.dataclass(frozen=True)
class Adjustment:
    """value * scale + offset."""

    scale: float = 1.0
    offset: float = 0.0

    def apply(self, value: float) -> float:
        return value * self.scale + self.offset


Calibration = Mapping[str, Mapping[str, Adjustment]]


def parse_adjustment(text: str) -> Adjustment:
    """``"*1.02+0.5"`` -> Adjustment(1.02, 0.5); ValueError for anything else."""
    match = _ADJUSTMENT.match(text.replace(" ", ""))
    if not text.strip() or match is None:
        raise ValueError(f"bad adjustment {text!r} (write it like -1.5, *1.02 or *1.02+0.5)")
    scale = float(match["scale"]) if match["scale"] else 1.0
    offset = float(match["offset"]) if match["offset"] else 0.0
    if not (math.isfinite(scale) and math.isfinite(offset)) or scale <= 0:
        raise ValueError(f"bad adjustment {text!r} (the factor must be a positive number)")
    return Adjustment(scale, offset)


def parse_calibration(text: str) -> dict[str, dict[str, Adjustment]]:
    """Parse ENVIRO_CALIBRATION into {sensor: {field: Adjustment}} (names checked later)."""
    calibration: dict[str, dict[str, Adjustment]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        target, sep, adjustment = item.partition("=")
        sensor, dot, field = target.strip().partition(".")
        if not sep or not dot or not sensor or not field:
            raise ValueError(f"expected sensor.field=adjustment, got {item!r}")
        if field in calibration.get(sensor, {}):
            raise ValueError(f"{sensor}.{field} is calibrated twice")
        calibration.setdefault(sensor, {})[field] = parse_adjustment(adjustment)
    return calibration


def check_calibration(calibration: Calibration, fields_by_sensor: Mapping[str, tuple[str, ...]]) -> None:
    """Every sensor and field named must exist; ValueError naming the first that does not."""
    for sensor, fields in calibration.items():
        if sensor not in fields_by_sensor:
            known = ", ".join(sorted(fields_by_sensor))
            raise ValueError(f"no sensor named {sensor!r} (configured: {known})")
        for field in fields:
            if field not in fields_by_sensor[sensor]:
                known = ", ".join(fields_by_sensor[sensor])
                raise ValueError(f"{sensor} has no field {field!r} (it has: {known})")


def check_room_reference(reference: str | None, fields_by_sensor: Mapping[str, tuple[str, ...]]) -> None:
    """The reference must be a configured sensor measuring what the room values need."""
    if reference is None:
        return
    if reference not in fields_by_sensor:
        raise ValueError(f"no sensor named {reference!r} (configured: {', '.join(sorted(fields_by_sensor))})")
    fields = fields_by_sensor[reference]
    if any(key in fields for key in ROOM_FIELDS):
        # It has temperature and humidity, but it is the sensor warmed by the CPU.
        raise ValueError(
            f"{reference} cannot be the room reference: it is the sensor whose room values the "
            "reference gives; name one away from the CPU's heat (e.g. aht10)"
        )
    missing = [key for key in ROOM_FIELDS.values() if key not in fields]
    if missing:
        raise ValueError(
            f"{reference} cannot be the room reference: it needs temperature and humidity, "
            f"and it measures no {' and no '.join(missing)}"
        )


def calibrate(
    values: Mapping[str, float], adjustments: Mapping[str, Adjustment] | None
) -> tuple[dict, tuple]:
    """The values with their adjustments applied, and the keys that were adjusted.

    A value that is absent or not a number is left for validation to reject.
    """
    result = dict(values)
    done = []
    for key, adjustment in (adjustments or {}).items():
        value = result.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            result[key] = adjustment.apply(value)
            done.append(key)
    return result, tuple(done)


def with_room_reference(values: Mapping[str, float], reference: Mapping[str, float] | None) -> dict:
    """A BME280's values with its room values taken from the reference's reading.

    Without a current reference reading the room values are left out (they
    are optional fields): an estimate from the CPU's heat in their place
    would pass off one method as the other.
    """
    result = {key: value for key, value in values.items() if key not in ROOM_FIELDS}
    if reference is not None:
        for key, source in ROOM_FIELDS.items():
            if source in reference:
                result[key] = reference[source]
    return result
