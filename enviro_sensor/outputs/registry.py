"""The table of outputs: one module each, asked in turn whether its settings turn it on.

Each module named here has ``from_context(context) -> Output | None``:
the output its settings describe, or None when they leave it off.
"""

from __future__ import annotations

import importlib

from enviro_sensor.outputs.base import Output, OutputContext

BUILTIN_OUTPUTS = (
    "enviro_sensor.outputs.latest",
    "enviro_sensor.outputs.prometheus",
    "enviro_sensor.outputs.history",
    "enviro_sensor.outputs.mqtt",
    "enviro_sensor.outputs.files",
    "enviro_sensor.outputs.influx",
    "enviro_sensor.outputs.sensor_community",
    "enviro_sensor.outputs.lcd_readings",
)


def build_outputs(context: OutputContext) -> list[Output]:
    """Every output the settings turn on, in the table's order."""
    outputs = []
    for module_name in BUILTIN_OUTPUTS:
        output = importlib.import_module(module_name).from_context(context)
        if output is not None:
            outputs.append(output)
    return outputs
