"""OpenAPI schemas of the sensor routes, generated from the sensor kinds' declarations.

Each value's key, datasheet range, meaning and example come from the same
declaration the collector validates against, so a declared field is
documented, with its range, as soon as it exists. The groups and sensors are
this service's own (``ENVIRO_GROUPS``, ``ENVIRO_I2C_SENSORS``).
"""

from __future__ import annotations

from typing import Any

from enviro_sensor.records import STATUSES
from enviro_sensor.sensors.base import Field
from enviro_sensor.sensors.config import GroupConfig, Sensor
from enviro_sensor.web import field_info
from enviro_sensor.web.sensors import group_response_name, parameter_name, sensor_response_name

# The statuses enviro_sensor/web/sensors.py reports (see docs/architecture.md, "Statuses").
SENSOR_STATUSES = list(STATUSES)
GROUP_STATUSES = ["ok", "degraded", *(status for status in STATUSES if status != "ok")]
EXAMPLE_TIME = "2026-01-15T08:30:00.123Z"


# -- building blocks (enviro_sensor/web/openapi.py uses them too) -------------------------------


def ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def schema_name(sensor: str, suffix: str) -> str:
    """A component's name: ``schema_name("bme280", "Values")`` is ``Bme280Values``."""
    return sensor[:1].upper() + sensor[1:] + suffix


def json_object(
    properties: dict[str, Any], required: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """A JSON object with exactly these properties (extras are a mistake worth seeing)."""
    schema = {"type": "object", "properties": properties, "additionalProperties": False, **extra}
    if required:
        schema["required"] = required
    return schema


def result(schema: dict[str, Any]) -> dict[str, Any]:
    return json_object({"result": schema}, ["result"])


def json_response(description: str, schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"description": description, "content": {"application/json": media}}


# -- one sensor ------------------------------------------------------------------------


def example_value(field: Field) -> float:
    """The field's declared example, else the middle of its range."""
    if field.example is not None:
        return field.example
    return round((field.low + field.high) / 2, field.decimals)


def field_schema(field: Field, sensor: str) -> dict[str, Any]:
    """One value: its datasheet range, what it means and where /metrics has it."""
    labels = ",".join(f'{name}="{value}"' for name, value in {"sensor": sensor, **field.labels}.items())
    metric = f"`{field.metric}{{{labels}}}`"
    if field.scale == 1:
        description = f"{field.help} In /metrics: {metric}."
    else:
        # The help text is the metric's, in its base unit ("humidity (0 to 1)"):
        # say so before it, next to a value in another unit (percent).
        description = f"In /metrics as {metric} = this value × {field.scale:g}: {field.help}"
    shown = f"{field.label} ({field.unit})" if field.unit else field.label
    return {
        "type": "number",
        "title": field.label,
        "minimum": field.low,
        "maximum": field.high,
        "description": f"{shown}. {description}",
        "example": example_value(field),
    }


def values_schema(reader: Sensor) -> dict[str, Any]:
    return json_object(
        {field.key: field_schema(field, reader.name) for field in reader.fields},
        [field.key for field in reader.fields if not field.optional],
        description=f"One valid reading of the {reader.description}; optional values are left out "
        "when they cannot be derived.",
    )


def _sensor_properties(reader: Sensor) -> dict[str, Any]:
    return {
        "status": {"type": "string", "enum": SENSOR_STATUSES},
        "description": {"type": "string", "example": reader.description},
        "time": {"type": "string", "format": "date-time", "description": "When the reading was taken (UTC)."},
        "age_seconds": {"type": "number", "minimum": 0, "description": "Seconds since the reading."},
        "stale": {
            "type": "boolean",
            "description": "True once the reading is older than its freshness window.",
        },
        "values": ref("schemas", schema_name(reader.name, "Values")),
        "calibrated": {
            "type": "array",
            "items": {"type": "string", "enum": [field.key for field in reader.fields]},
            "uniqueItems": True,
            "description": "Keys of the values ENVIRO_CALIBRATION corrected (shown as corrected); "
            "absent when none were.",
        },
        "notes": {
            "type": "object",
            "properties": {field.key: {"type": "string"} for field in reader.fields if field.optional},
            "additionalProperties": False,
            "description": "Words about derived values, by key: why an optional one is absent (a gas "
            "baseline still being learned, too few hours for the NowCast), or what a coded one means "
            "(the AQI category's name, the pollutant that sets the AQI); absent when there are none.",
        },
        "reason": {"type": "string", "description": "Why the sensor is not ok, or its last error."},
        "sleeping": {
            "type": "boolean",
            "description": "A duty-cycled sensor (ENVIRO_PARTICULATES_DUTY): true while asleep between "
            "readings, false while awake and settling; absent for a sensor read every poll.",
        },
        "next_reading_at": {
            "type": "string",
            "format": "date-time",
            "description": "When a duty-cycled sensor's next reading is due (UTC); its last reading "
            "stays current until then. Absent for a sensor read every poll, and while paused.",
        },
    }


def sensor_schema(reader: Sensor) -> dict[str, Any]:
    """A sensor in a group's answer; ``time`` to ``values`` appear once it has read."""
    return json_object(_sensor_properties(reader), ["status", "description"])


def sensor_example(reader: Sensor) -> dict[str, Any]:
    return {
        "status": "ok",
        "description": reader.description,
        "time": EXAMPLE_TIME,
        "age_seconds": 0.412,
        "stale": False,
        "values": {field.key: example_value(field) for field in reader.fields},
    }


# -- groups and the index ----------------------------------------------------------


def group_schema(group: GroupConfig) -> dict[str, Any]:
    names = [reader.name for reader in group.sensors]
    sensors = json_object({name: ref("schemas", schema_name(name, "Sensor")) for name in names}, names)
    return result(
        json_object(
            {
                "group": {"type": "string", "enum": [group.name]},
                "status": {"type": "string", "enum": GROUP_STATUSES},
                "sensors": sensors,
            },
            ["group", "status", "sensors"],
        )
    )


def one_sensor_schema(sensors: tuple[Sensor, ...]) -> dict[str, Any]:
    """``/api/sensors/<group>/{name}``: the named sensor, by itself."""
    choices = [
        json_object(
            {"sensor": {"type": "string", "enum": [sensor.name]}, **_sensor_properties(sensor)},
            ["sensor", "status", "description"],
        )
        for sensor in sensors
    ]
    if not choices:
        return result({"type": "object", "description": "No sensors are configured in this group."})
    return result(choices[0] if len(choices) == 1 else {"oneOf": choices})


def sensor_responses(groups: list[GroupConfig]) -> dict[str, Any]:
    """The answers of the sensor routes, each with an example built from the fields'."""
    responses = {
        "SensorIndex": json_response(
            "Each sensor group, its route and status.", ref("schemas", "SensorIndex"), _index_example(groups)
        )
    }
    for group in groups:
        example = {
            "result": {
                "group": group.name,
                "status": "ok",
                "sensors": {sensor.name: sensor_example(sensor) for sensor in group.sensors},
            }
        }
        responses[group_response_name(group.name)] = json_response(
            f"The latest reading of each sensor of the {group.name} group.",
            ref("schemas", schema_name(group.name, "Group")),
            example,
        )
        first = group.sensors[0] if group.sensors else None
        one = {"result": {"sensor": first.name, **sensor_example(first)}} if first else None
        responses[sensor_response_name(group.name)] = json_response(
            "The latest reading of the named sensor.",
            ref("schemas", schema_name(group.name, "SensorAnswer")),
            one,
        )
    return responses


def sensor_parameters(groups: list[GroupConfig]) -> dict[str, Any]:
    """The ``name`` path parameter of each group's one-sensor route."""
    parameters = {}
    for group in groups:
        names = [sensor.name for sensor in group.sensors]
        parameter: dict[str, Any] = {
            "name": "name",
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": f"A sensor of the {group.name} group; here: " + (", ".join(names) or "none"),
        }
        if names:
            parameter["example"] = names[0]
        parameters[parameter_name(group.name)] = parameter
    return parameters


def _index_schema(groups: list[GroupConfig]) -> dict[str, Any]:
    sensor = json_object(
        {
            "status": {"type": "string", "enum": SENSOR_STATUSES},
            "reason": {"type": "string"},
            "fields": field_info.SCHEMA,
        },
        ["status", "fields"],
    )
    entries = {
        group.name: json_object(
            {
                "route": {"type": "string", "enum": [group.route]},
                "interval_seconds": {"type": "number", "minimum": 0},
                "status": {"type": "string", "enum": [*GROUP_STATUSES, "disabled"]},
                "reason": {"type": "string", "description": "Why a group is disabled."},
                "sensors": {"type": "object", "additionalProperties": sensor},
            },
            ["route", "interval_seconds", "status"],
        )
        for group in groups
    }
    return result(json_object({"groups": json_object(entries, list(entries))}, ["groups"]))


def _index_example(groups: list[GroupConfig]) -> dict[str, Any]:
    return {
        "result": {
            "groups": {
                group.name: {
                    "route": group.route,
                    "interval_seconds": group.interval,
                    "status": "ok",
                    "sensors": {
                        reader.name: {"status": "ok", "fields": field_info.fields_info(reader.fields)}
                        for reader in group.sensors
                    },
                }
                for group in groups
            }
        }
    }


def sensor_schemas(groups: list[GroupConfig]) -> dict[str, Any]:
    """Every sensor's values and answer, every group's answer, and the index."""
    schemas: dict[str, Any] = {}
    for group in groups:
        for reader in group.sensors:
            schemas[schema_name(reader.name, "Values")] = values_schema(reader)
            schemas[schema_name(reader.name, "Sensor")] = sensor_schema(reader)
        schemas[schema_name(group.name, "Group")] = group_schema(group)
        schemas[schema_name(group.name, "SensorAnswer")] = one_sensor_schema(group.sensors)
    schemas["SensorIndex"] = _index_schema(groups)
    return schemas
