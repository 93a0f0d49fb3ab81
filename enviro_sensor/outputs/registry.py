"""The table of outputs: one module each, asked in turn whether its options turn it on.

Each module named here has ``from_context(context, options) -> Output | None``,
the output its options describe or None when they leave it off, and
``SETTINGS``, the declaration of its own settings (None for an output that
has none). A module outside the product adds itself with ``register_output``.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from enviro_sensor.config.declarations import Declaration
from enviro_sensor.outputs.base import Output, OutputContext

BUILTIN_OUTPUTS = (
    "enviro_sensor.outputs.latest",
    "enviro_sensor.outputs.prometheus",
    "enviro_sensor.outputs.history",
    "enviro_sensor.outputs.mqtt",
    "enviro_sensor.outputs.files",
    "enviro_sensor.outputs.influx",
    "enviro_sensor.outputs.sensor_community",
)

_registered: dict[str, None] = {}
_lock = threading.Lock()


def register_output(module_name: str) -> None:
    """Add an output module after the built-in ones (a plug-in, or a test's own)."""
    with _lock:
        _registered[module_name] = None


def unregister_output(module_name: str) -> None:
    with _lock:
        _registered.pop(module_name, None)


def output_modules() -> list[ModuleType]:
    """Every output module, built-in ones first."""
    with _lock:
        names = [*BUILTIN_OUTPUTS, *_registered]
    return [importlib.import_module(name) for name in names]


def declarations() -> list[Declaration[Any]]:
    """The outputs' own settings, in the table's order."""
    return [module.SETTINGS for module in output_modules() if getattr(module, "SETTINGS", None) is not None]


def build_outputs(context: OutputContext, options_of: Callable[[Declaration[Any]], Any]) -> list[Output]:
    """Every output its options turn on, in the table's order; each gets its own options only."""
    outputs = []
    for module in output_modules():
        declaration = getattr(module, "SETTINGS", None)
        output = module.from_context(context, options_of(declaration) if declaration is not None else None)
        if output is not None:
            outputs.append(output)
    return outputs
