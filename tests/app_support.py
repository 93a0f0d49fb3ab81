"""Building apps for tests: settings by field name, the objects by keyword."""

from __future__ import annotations

from typing import Any

from flask import Flask
from prometheus_client import CollectorRegistry

from enviro_sensor.settings import load_settings
from enviro_sensor.web.app import create_app


def virtual_app(
    registry: CollectorRegistry | None = None,
    *,
    board: Any = None,
    start: bool = False,
    clock: Any = None,
    outputs: Any = None,
    **settings: Any,
) -> Flask:
    """An app on the virtual board (or ``board``), with these settings over the defaults."""
    environ = {}
    if isinstance(settings.get("virtual_faults"), str):  # as the environment would give it
        environ["ENVIRO_VIRTUAL_FAULTS"] = settings.pop("virtual_faults")
    loaded = load_settings(environ, overrides={"board": "virtual", **settings})
    return create_app(loaded, registry=registry, board=board, start=start, clock=clock, outputs=outputs)
