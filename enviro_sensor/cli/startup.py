"""Settings as start-up reads them: one line naming a bad setting, then stop."""

from __future__ import annotations

import sys
from typing import TextIO

from enviro_sensor.settings import Settings, SettingsError, load_settings
from enviro_sensor.version import SERVICE


def load_or_explain(stream: TextIO = sys.stderr) -> Settings | None:
    """The environment's settings, or None after printing the one-line reason they cannot be used."""
    try:
        return load_settings()
    except SettingsError as err:
        print(f"{SERVICE}: {err}", file=stream)
        return None
