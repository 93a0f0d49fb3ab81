"""What a remote node's values mean: fields of the registered kinds, plus the battery.

A node's measurements refer to the same ``Field`` declarations as local
sensors (``bme280.temperature_celsius``), so their ranges, metric names and
Home Assistant classes are the same. Only the battery is the nodes' own.
"""

from __future__ import annotations

from enviro_sensor.sensors import registry
from enviro_sensor.sensors.base import Field

#: The sensor name a node's battery voltage (from the packet header) is published under.
BATTERY_SENSOR = "battery"
BATTERY_VOLTS = Field(
    "voltage_volts",
    0.0,
    6.5,  # a single Li-ion cell, or up to four NiMH/alkaline cells in series
    "enviro_node_battery_volts",
    "Battery voltage the node reported with its last packet.",
    decimals=3,
    example=3.71,
    label="Battery",
    diagnostic=True,
    device_class="voltage",
    unit="V",
)
NODE_FIELDS: dict[str, tuple[Field, ...]] = {BATTERY_SENSOR: (BATTERY_VOLTS,)}


def fields_of(kind: str) -> tuple[Field, ...]:
    """Every field a remote measurement of ``kind`` may be; KeyError for an unknown kind."""
    if kind in NODE_FIELDS:
        return NODE_FIELDS[kind]
    return registry.kinds()[kind].fields


def field_of(kind: str, key: str) -> Field | None:
    """The declaration of ``kind``'s field ``key``; None when there is none."""
    try:
        fields = fields_of(kind)
    except KeyError:
        return None
    return next((field for field in fields if field.key == key), None)


def known_kinds() -> list[str]:
    return sorted({*registry.kinds(), *NODE_FIELDS})
