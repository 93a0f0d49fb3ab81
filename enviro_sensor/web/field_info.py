"""How a person is shown each field, for pages that show readings (the dashboard).

Each field's declared label, display unit and decimals, so a page shows
"PM2.5 6 µg/m³" and never turns ``pm2_5_micrograms_per_cubic_meter`` into
words itself. Given in ``GET /api/sensors`` for each local sensor and in
``GET /api/nodes`` for every kind the nodes measure.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from enviro_sensor.sensors.base import Field

SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "How each value is shown, by its key: its label, display unit and decimal places.",
    "additionalProperties": {
        "type": "object",
        "properties": {
            "label": {"type": "string", "example": "Temperature (compensated)"},
            "unit": {"type": "string", "example": "°C", "description": "Absent for a value with no unit."},
            "decimals": {"type": "integer", "minimum": 0, "example": 2},
            "options": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "For a value that is one of a few levels: each level's name.",
                "example": {"1": "Good", "2": "Moderate"},
            },
        },
        "required": ["label", "decimals"],
        "additionalProperties": False,
    },
}


def field_info(field: Field) -> dict[str, Any]:
    info: dict[str, Any] = {"label": field.label, "decimals": field.decimals}
    if field.unit is not None:
        info["unit"] = field.unit
    if field.options is not None:
        info["options"] = {str(number): name for number, name in field.options.items()}
    return info


def fields_info(fields: Iterable[Field]) -> dict[str, dict[str, Any]]:
    return {field.key: field_info(field) for field in fields}
