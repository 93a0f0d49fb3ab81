"""The OpenAPI components of the history routes and of pause/resume."""

from __future__ import annotations

from typing import Any

from enviro_sensor.records import STATUSES
from enviro_sensor.sensors.config import GroupConfig
from enviro_sensor.web.history_params import MAX_POINTS
from enviro_sensor.web.sensor_schemas import json_object, json_response, ref, result

_TIME = {"type": "string", "format": "date-time", "description": "UTC, ISO 8601."}


def _error(status: int, description: str, example: str) -> dict[str, Any]:
    schema = json_object(
        {
            "error": json_object(
                {
                    "status": {"type": "integer", "enum": [status]},
                    "message": {"type": "string", "minLength": 1},
                },
                ["status", "message"],
            )
        },
        ["error"],
    )
    return json_response(description, schema, {"error": {"status": status, "message": example}})


def _query(name: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": schema, **extra}


def history_parameters(
    groups: list[GroupConfig], remote: dict[str, tuple[str, ...]] | None = None
) -> dict[str, Any]:
    """The history routes' parameters; ``remote`` holds remote nodes' series and their fields
    (``{"kitchen/bme280": ("temperature_celsius", ...)}``)."""
    remote = remote or {}
    sensors = [sensor.name for group in groups if group.enabled for sensor in group.sensors] + list(remote)
    fields = sorted(
        {f.key for group in groups if group.enabled for sensor in group.sensors for f in sensor.fields}
        | {key for keys in remote.values() for key in keys}
    )
    known = ", ".join(sensors) or "none"
    time_text = (
        "ISO 8601 (UTC unless it says otherwise), `now`, or relative to now: `-30m`, `-24h`, `-7d`, `-2w`."
    )
    return {
        "HistorySensor": _query(
            "sensor",
            f"The sensor ({known}).",
            {"type": "string"},
            required=True,
            example=sensors[0] if sensors else "bme280",
        ),
        "ExportSensor": _query(
            "sensor",
            f"Only this sensor ({known}); may repeat. Every sensor when left out.",
            {"type": "array", "items": {"type": "string", "enum": sensors}},
            style="form",
            explode=True,
        ),
        "HistoryField": _query(
            "field",
            "A field of the sensor (`temperature_celsius`); may repeat. Every field when left out.",
            {"type": "array", "items": {"type": "string", "enum": fields}},
            style="form",
            explode=True,
        ),
        "HistorySince": _query(
            "since",
            f"Start of the range (inclusive), default `-24h`. {time_text}",
            {"type": "string"},
            example="-24h",
        ),
        "ExportSince": _query(
            "since",
            f"Start of the range (inclusive), default `-24h`. {time_text}",
            {"type": "string"},
            example="-7d",
        ),
        "HistoryUntil": _query(
            "until",
            f"End of the range (exclusive), default `now`. {time_text}",
            {"type": "string"},
            example="now",
        ),
        "HistoryStep": _query(
            "step",
            f"Seconds per point; chosen for about 300 points when left out. At most {MAX_POINTS} points per series.",
            {"type": "integer", "minimum": 1},
            example=300,
        ),
        "ExportFormat": _query(
            "format",
            "`csv` (default) or `jsonl` (JSON Lines).",
            {"type": "string", "enum": ["csv", "jsonl"]},
            example="csv",
        ),
    }


_POINT = json_object(
    {
        "time": {**_TIME, "description": "Start of the step, UTC."},
        "min": {"type": "number"},
        "mean": {"type": "number"},
        "max": {"type": "number"},
    },
    ["time", "min", "mean", "max"],
)
_SERIES = json_object(
    {
        "sensor": {"type": "string"},
        "field": {"type": "string", "description": "The JSON key, unit included."},
        "unit": {"type": "string", "nullable": True, "description": "The unit as Home Assistant writes it."},
        "points": {
            "type": "array",
            "items": _POINT,
            "description": "Oldest first; a step without values has none.",
        },
    },
    ["sensor", "field", "unit", "points"],
)
_EVENT = json_object(
    {
        "time": _TIME,
        "sensor": {"type": "string"},
        "status": {"type": "string", "enum": list(STATUSES)},
        "reason": {"type": "string"},
    },
    ["time", "sensor", "status"],
)

HISTORY_SCHEMAS = {
    "History": result(
        json_object(
            {
                "since": _TIME,
                "until": _TIME,
                "step_seconds": {"type": "integer", "minimum": 1},
                "series": {"type": "array", "items": _SERIES},
                "events": {
                    "type": "array",
                    "items": _EVENT,
                    "description": "The sensors' status changes in the range: why a chart has a gap.",
                },
            },
            ["since", "until", "step_seconds", "series", "events"],
        )
    ),
    "PauseChanged": result(
        json_object(
            {
                "group": {"type": "string"},
                "paused": {"type": "boolean", "description": "The group's state now."},
            },
            ["group", "paused"],
        )
    ),
}

HISTORY_EXAMPLE = {
    "result": {
        "since": "2026-01-14T08:30:00.000Z",
        "until": "2026-01-15T08:30:00.000Z",
        "step_seconds": 300,
        "series": [
            {
                "sensor": "bme280",
                "field": "temperature_celsius",
                "unit": "°C",
                "points": [{"time": "2026-01-14T08:30:00.000Z", "min": 21.4, "mean": 21.52, "max": 21.7}],
            }
        ],
        "events": [
            {
                "time": "2026-01-14T12:00:00.000Z",
                "sensor": "bme280",
                "status": "paused",
                "reason": "paused by request",
            }
        ],
    }
}

HISTORY_RESPONSES = {
    "History": json_response("The series asked for.", ref("schemas", "History"), HISTORY_EXAMPLE),
    "HistoryExport": {
        "description": "The rows, streamed; a download (Content-Disposition: attachment).",
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": "time,sensor,field,label,unit,min,mean,max,count\n"
                "2026-01-15T08:30:00.000Z,bme280,temperature_celsius,Temperature,°C,21.5,21.5,21.5,1\n",
            },
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    },
    "HistoryArchive": {
        "description": "A gzipped tar holding `<day>/<sensor>.jsonl` for each sensor with data that day.",
        "content": {"application/gzip": {"schema": {"type": "string", "format": "binary"}}},
    },
    "HistoryBadRequest": _error(
        400,
        "A parameter cannot be used: an unknown sensor, field or parameter, a time that is neither ISO 8601 "
        f"nor relative, since not before until, or more than {MAX_POINTS} points per series.",
        "since: 'yesterday' is neither an ISO 8601 time (2026-01-15T08:30:00Z) nor a relative one (-30m, -24h, -7d) nor now",
    ),
    "HistoryNoDay": _error(404, "No history for that day.", "no history for 2026-01-15 (UTC)"),
    "HistoryOff": _error(
        503,
        "The service keeps no history (ENVIRO_DATA_DIR is empty), or its file cannot be read now.",
        "the history is off: set ENVIRO_DATA_DIR to keep one",
    ),
    "PauseChanged": json_response(
        "The group's polling state now.",
        ref("schemas", "PauseChanged"),
        {"result": {"group": "particulates", "paused": True}},
    ),
    "GroupDisabled": _error(
        409,
        "The group is not polled at all (ENVIRO_GROUPS).",
        "the particulates group is disabled (not in ENVIRO_GROUPS)",
    ),
}
