"""OpenAPI components of the remote nodes' routes (``enviro_sensor/web/nodes.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from enviro_sensor.nodes.devices import Device
from enviro_sensor.nodes.fields import BATTERY_SENSOR, BATTERY_VOLTS, NODE_FIELDS
from enviro_sensor.nodes.intake import TRANSPORTS
from enviro_sensor.nodes.protocol import Code
from enviro_sensor.outputs.history import series_sensor
from enviro_sensor.version import SERVICE
from enviro_sensor.web import field_info
from enviro_sensor.web.field_info import fields_info
from enviro_sensor.web.sensor_schemas import EXAMPLE_TIME, json_object, json_response, ref, result

# Keys without a value yet (before the first packet) are left out, as /api/outputs does.
_NUMBER = {"type": "number"}
_WHOLE = {"type": "integer", "minimum": 0}

NODE_SCHEMA = json_object(
    {
        "id": {"type": "integer", "minimum": 1, "description": "The device id its packets carry."},
        "name": {"type": "string", "description": "The node label of its metrics, and its route."},
        "location": {"type": "string"},
        "virtual": {"type": "boolean", "description": "A simulated node (ENVIRO_VIRTUAL_NODES)."},
        "status": {"type": "string", "enum": ["waiting", "ok", "stale"]},
        "last_contact": {"type": "string", "format": "date-time"},
        "age_seconds": {**_NUMBER, "minimum": 0},
        "stale": {"type": "boolean", "description": "No packet within three of the node's own intervals."},
        "fresh_for_seconds": {**_NUMBER, "minimum": 0},
        "battery_volts": _NUMBER,
        "measure_interval_seconds": _WHOLE,
        "wake_interval_seconds": _WHOLE,
        "sequence": {**_WHOLE, "description": "The last accepted sequence number."},
        "transport": {"type": "string", "enum": list(TRANSPORTS)},
        "stored": {"type": "integer", "minimum": 0},
        "refused": {"type": "integer", "minimum": 0},
        "last_refusal": {"type": "string", "enum": [code.reason for code in Code]},
        "measurements": {
            "type": "array",
            "items": {"type": "string", "example": "bme280.temperature_celsius"},
        },
        "readings": {
            "type": "object",
            "description": "By sensor (kind): its latest values, keyed as a local sensor's are.",
            "additionalProperties": json_object(
                {
                    "time": {"type": "string", "format": "date-time"},
                    "age_seconds": {"type": "number", "minimum": 0},
                    "stale": {"type": "boolean"},
                    "values": {"type": "object", "additionalProperties": {"type": "number"}},
                },
                ["time", "age_seconds", "stale", "values"],
            ),
        },
    },
    ["id", "name", "location", "virtual", "status", "stale", "stored", "refused", "measurements", "readings"],
)

NODE_EXAMPLE = {
    "id": 1001,
    "name": "kitchen",
    "location": "Kitchen, on the fridge",
    "virtual": False,
    "status": "ok",
    "last_contact": EXAMPLE_TIME,
    "age_seconds": 41.2,
    "stale": False,
    "fresh_for_seconds": 930.0,
    "battery_volts": 3.71,
    "measure_interval_seconds": 300,
    "wake_interval_seconds": 300,
    "sequence": 1842,
    "transport": "tcp",
    "stored": 1842,
    "refused": 0,
    "measurements": ["bme280.temperature_celsius", "bme280.humidity_percent"],
    "readings": {
        "bme280": {
            "time": EXAMPLE_TIME,
            "age_seconds": 41.2,
            "stale": False,
            "values": {"temperature_celsius": 21.37, "humidity_percent": 48.2},
        },
        "battery": {
            "time": EXAMPLE_TIME,
            "age_seconds": 41.2,
            "stale": False,
            "values": {"voltage_volts": 3.71},
        },
    },
}

READINGS_BODY = json_object(
    {
        "sequence": {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
        "values": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {"type": "number"},
            "description": "`kind.field`: value, for measurements the devices file lists for this node.",
        },
        "battery_volts": {"type": "number"},
        "measure_interval_seconds": {"type": "integer", "minimum": 0, "maximum": 65535},
        "wake_interval_seconds": {"type": "integer", "minimum": 0, "maximum": 65535},
    },
    ["sequence", "values"],
)


def node_components(
    devices: list[Device], _error: Callable[..., dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Schemas, responses, parameters and the request body of the node routes.

    ``_error`` makes an error answer (``enviro_sensor.web.openapi.error_response``, which imports this module).
    """
    names = [device.name for device in devices]
    parameter: dict[str, Any] = {
        "name": "node",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": "A remote node's name; here: " + (", ".join(names[:20]) or "none configured"),
    }
    if names:
        parameter["example"] = names[0]
    return {
        "schemas": {
            "Node": result(NODE_SCHEMA),
            "NodeList": result(
                json_object(
                    {
                        "nodes": {"type": "array", "items": NODE_SCHEMA},
                        "fields": {
                            "type": "object",
                            "description": "How the nodes' values are shown, by sensor kind (battery included).",
                            "additionalProperties": field_info.SCHEMA,
                        },
                    },
                    ["nodes", "fields"],
                )
            ),
            "NodeStored": result(
                json_object(
                    {
                        "node": {"type": "string"},
                        "sequence": {"type": "integer", "minimum": 0},
                        "code": {"type": "string", "enum": ["stored"]},
                        "stored": {"type": "integer", "minimum": 1, "description": "Values now on disk."},
                    },
                    ["node", "sequence", "code", "stored"],
                )
            ),
            "NodeAccepted": result(
                json_object(
                    {
                        "node": {"type": "string"},
                        "sequence": {"type": "integer", "minimum": 0},
                        "code": {"type": "string", "enum": ["accepted"]},
                        "accepted": {"type": "integer", "minimum": 1, "description": "Values published."},
                        "stored": {"type": "integer", "enum": [0], "description": "None is kept on disk."},
                    },
                    ["node", "sequence", "code", "accepted", "stored"],
                )
            ),
        },
        "responses": {
            "Nodes": json_response(
                "Every remote node.",
                ref("schemas", "NodeList"),
                {
                    "result": {
                        "nodes": [NODE_EXAMPLE],
                        "fields": {"battery": fields_info(NODE_FIELDS["battery"])},
                    }
                },
            ),
            "Node": json_response("One remote node.", ref("schemas", "Node"), {"result": NODE_EXAMPLE}),
            "NodeStored": json_response(
                "The readings were stored and go to every output.",
                ref("schemas", "NodeStored"),
                {"result": {"node": "kitchen", "sequence": 1843, "code": "stored", "stored": 2}},
            ),
            "NodeAccepted": json_response(
                "The readings were published to the outputs, but the service keeps no history "
                "(no ENVIRO_DATA_DIR): nothing is on disk.",
                ref("schemas", "NodeAccepted"),
                {
                    "result": {
                        "node": "kitchen",
                        "sequence": 1843,
                        "code": "accepted",
                        "accepted": 2,
                        "stored": 0,
                    }
                },
            ),
            "NodeNotStored": _error(
                503,
                "The readings could not be written to disk (a full disk): nothing of this push is kept "
                "or published; send them again, with a new sequence number.",
                "the readings could not be stored on disk; nothing kept: send them again",
                headers={"Retry-After": {"schema": {"type": "integer"}, "example": 60}},
            ),
            "NodeNotFound": _error(
                404, "No remote node of that name.", "no remote node named 'attic' (see GET /api/nodes)"
            ),
            "NodeBadRequest": _error(
                400,
                "Not a JSON object of sequence and values, a value that is not a number, or a measurement "
                "the devices file does not list for this node.",
                "values must be an object of kind.field: number, with at least one value",
            ),
            "NodeUnauthorized": _error(
                401,
                "The request lacks the node's key, or has another.",
                "send the key of kitchen as Authorization: Bearer <key>",
                headers={
                    "WWW-Authenticate": {"schema": {"type": "string"}, "example": f'Bearer realm="{SERVICE}"'}
                },
            ),
            "NodeReplayed": _error(
                409,
                "The sequence number is not above the node's last one: a replay, or a node that restarted its counter.",
                "sequence 12 is not above the last one, 1843: replayed or old",
            ),
            "NodeValuesRefused": _error(
                422,
                "A value is not finite or outside its field's range: nothing of this push is stored.",
                "values outside their fields' ranges, nothing stored: bme280.temperature_celsius",
            ),
        },
        "parameters": {"NodeName": parameter},
        "requestBodies": {
            "NodeReadings": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": READINGS_BODY,
                        "example": {
                            "sequence": 1843,
                            "battery_volts": 3.71,
                            "wake_interval_seconds": 300,
                            "values": {"bme280.temperature_celsius": 21.37, "bme280.humidity_percent": 48.2},
                        },
                    }
                },
            }
        },
    }


def remote_series(devices: list[Device]) -> dict[str, tuple[str, ...]]:
    """The history's series of remote nodes (``kitchen/bme280``) and their fields' keys."""
    series = {}
    for device in devices:
        for sensor, fields in {**device.sensors(), BATTERY_SENSOR: (BATTERY_VOLTS,)}.items():
            series[series_sensor(device.name, sensor)] = tuple(field.key for field in fields)
    return series
