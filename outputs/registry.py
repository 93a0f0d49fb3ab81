"""The table of outputs: one module each, asked in turn whether its settings turn it on.

Each module named here has ``from_context(context) -> Output | None``:
the output its settings describe, or None when they leave it off.
"""

from __future__ import annotations

import importlib

from outputs.base import Output, OutputContext

BUILTIN_OUTPUTS = (
    "outputs.latest",
    "outputs.prometheus",
    "outputs.history",
    "outputs.mqtt",
    "outputs.files",
    "outputs.influx",
    "outputs.sensor_community",
    "outputs.lcd_readings",
)


def build_outputs(context: OutputContext) -> list[Output]:
    """Every output the settings turn on, in the table's order."""
    outputs = []
    for module_name in BUILTIN_OUTPUTS:
        output = importlib.import_module(module_name).from_context(context)
        if output is not None:
            outputs.append(output)
    return outputs
