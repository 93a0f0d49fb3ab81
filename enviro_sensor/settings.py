"""Every setting of the service: each part's declaration, collected and read from ``ENVIRO_*``.

Each part declares its own settings beside its code (``config.declarations``):
the HTTP side (``web.options``), the board (``enviro_sensor.hardware.options``), the data
directory (``config.storage``), the sensors (``sensors.options``) and each
sensor kind (its ``SensorKind.settings``), the LCD (``enviro_sensor.lcd.options``), the
remote nodes (``enviro_sensor.nodes.options``) and each output (its module's ``SETTINGS``).
This module only collects them: adding a setting touches the part that reads
it, and nothing here. The README's table is made from the same declarations
(``enviro-sensor settings --markdown``), and a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from enviro_sensor.config.declarations import (
    Declaration,
    Setting,
    Settings,
    SettingsError,
    every_setting,
    read,
)
from enviro_sensor.config.server import SETTINGS as SERVER
from enviro_sensor.config.storage import SETTINGS as STORAGE
from enviro_sensor.hardware.options import SETTINGS as BOARD
from enviro_sensor.lcd.options import SETTINGS as LCD
from enviro_sensor.nodes.options import SETTINGS as NODES
from enviro_sensor.outputs import registry as outputs
from enviro_sensor.sensors import registry as kinds
from enviro_sensor.sensors.options import SETTINGS as SENSORS

__all__ = [
    "BOARD",
    "LCD",
    "NODES",
    "SENSORS",
    "SERVER",
    "STORAGE",
    "Setting",
    "Settings",
    "SettingsError",
    "all_settings",
    "declarations",
    "load_settings",
]


def declarations() -> list[Declaration[Any]]:
    """Every part's declaration, in the order the README lists them."""
    kind_settings = [kind.settings for kind in kinds.kinds().values() if kind.settings is not None]
    return [
        SERVER,
        BOARD,
        STORAGE,
        SENSORS,
        *dict.fromkeys(kind_settings),
        LCD,
        NODES,
        *outputs.declarations(),
    ]


def all_settings() -> tuple[Setting, ...]:
    """Every variable the service reads."""
    return every_setting(declarations())


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Parse the settings from ``environ`` (default: ``os.environ``).

    ``overrides`` holds already-parsed values by field (the variable's name
    without ENVIRO_, lower case; tests use it). Raises SettingsError with one
    line naming the variable and the problem.
    """
    return read(declarations(), environ, overrides)
