"""Which sensors and groups run, how they are polled and corrected: the sensors' own settings.

A sensor kind's options (the PMS5003's duty cycle, the gas warm-up) are
declared by its kind's module; these are the ones that concern every sensor.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from typing import Any

from enviro_sensor.config import parsers
from enviro_sensor.config.declarations import Setting, declare
from enviro_sensor.sensors import registry
from enviro_sensor.sensors.calibration import (
    Calibration,
    check_calibration,
    check_room_reference,
    parse_calibration,
)
from enviro_sensor.sensors.config import I2CSensorSpec, configured_sensors, parse_i2c_sensors

INTERVAL_LIMITS = (0.1, 3600.0)


@parsers.described("group names, comma separated, or `all`")
def group_names(text: str) -> tuple[str, ...]:
    known = tuple(registry.groups())
    if text.strip().lower() == "all":
        return known
    names = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown group {unknown[0]!r} (known: {', '.join(known)})")
    return names


@dataclasses.dataclass(frozen=True)
class SensorOptions:
    i2c_sensors: tuple[I2CSensorSpec, ...]
    groups: tuple[str, ...]
    read_timeout: float
    #: Adjustments by sensor name and field key (``ENVIRO_CALIBRATION``).
    calibration: Calibration
    #: The sensor whose readings stand for the room (``ENVIRO_ROOM_REFERENCE``).
    room_reference: str | None
    #: Seconds between polls, by group name (``ENVIRO_<GROUP>_INTERVAL``).
    intervals: Mapping[str, float]


def interval_settings() -> tuple[Setting, ...]:
    """``ENVIRO_<GROUP>_INTERVAL`` for every declared group, with the group's default."""
    kinds = registry.kinds()
    settings = []
    for name, group in registry.groups().items():
        parts = [kind.kind.upper() for kind in kinds.values() if kind.group == name]
        what = f" ({'/'.join(parts)})" if parts and name != "i2c" else ""
        settings.append(
            Setting(
                f"{name}_interval",
                f"{group.interval:g}",
                parsers.seconds(*INTERVAL_LIMITS),
                f"seconds between polls of the {name} group{what}",
                env=f"ENVIRO_{name.upper()}_INTERVAL",
            )
        )
    return tuple(settings)


def _build(values: dict[str, Any]) -> SensorOptions:
    intervals = {
        key.removesuffix("_interval"): values.pop(key) for key in list(values) if key.endswith("_interval")
    }
    return SensorOptions(**values, intervals=types.MappingProxyType(intervals))


def _check_sensor_names(options: SensorOptions) -> None:
    """Settings that name sensors must name configured ones, with fields they have."""
    fields = {
        sensor.name: tuple(field.key for field in sensor.fields)
        for sensor in configured_sensors(options.i2c_sensors)
    }
    try:
        check_calibration(options.calibration, fields)
    except ValueError as err:
        raise ValueError(f"ENVIRO_CALIBRATION: {err}") from None
    try:
        check_room_reference(options.room_reference, fields)
    except ValueError as err:
        raise ValueError(f"ENVIRO_ROOM_REFERENCE: {err}") from None


SETTINGS = declare(
    "sensors",
    SensorOptions,
    Setting(
        "i2c_sensors",
        "aht10@0x38,bmp280@0x77",
        parsers.Parser(parse_i2c_sensors, "kind@address[:bus], comma separated, or empty for none"),
        "extra I2C sensors, `kind@address[:bus]`, comma separated; empty for none",
    ),
    Setting(
        "groups",
        "all",
        group_names,
        "sensor groups to poll, comma separated, or `all`; the others are reported as disabled "
        "(e.g. no PMS5003 attached)",
    ),
    Setting(
        "read_timeout",
        "10",
        parsers.seconds(0.5, 600),
        "a driver call taking longer than this is abandoned and counted as an error",
    ),
    Setting(
        "calibration",
        "",
        parsers.Parser(parse_calibration, "sensor.field=adjustment, comma separated, or empty for none"),
        "per-sensor corrections applied before validation, `sensor.field=adjustment` comma separated: "
        "an offset (`bme280.temperature_celsius=-1.5`), a factor (`*1.02`) or both (`*1.02+0.5`)",
    ),
    Setting(
        "room_reference",
        "",
        parsers.optional_name,
        "a sensor away from the CPU's heat (e.g. `aht10`, `scd41`) whose temperature and humidity "
        "become the BME280's compensated values; empty: estimate them from the CPU temperature",
    ),
    prefix="",
    more=interval_settings,
    build=_build,
    check=_check_sensor_names,
)
