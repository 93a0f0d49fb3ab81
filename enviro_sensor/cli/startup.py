"""Settings as start-up reads them: one line naming a bad setting, then stop."""

from __future__ import annotations

import sys
from typing import TextIO

from enviro_sensor import hardware
from enviro_sensor.settings import Settings, SettingsError, load_settings
from enviro_sensor.version import SERVICE


def load_checked_settings() -> Settings:
    """The environment's settings, the board's own checks included; raises SettingsError."""
    settings = load_settings()
    try:
        hardware.check_settings(settings)
    except ValueError as err:  # its message names the setting
        raise SettingsError(str(err)) from None
    return settings


def load_or_explain(stream: TextIO = sys.stderr) -> Settings | None:
    """The checked settings, or None after printing the one-line reason they cannot be used."""
    try:
        return load_checked_settings()
    except SettingsError as err:
        print(f"{SERVICE}: {err}", file=stream)
        return None
