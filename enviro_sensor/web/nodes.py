"""``/api/nodes``: the remote nodes' state, and ``POST /api/nodes/<node>/readings`` for Wi-Fi boards.

The GET routes answer from the intake's memory of each node (last contact,
battery, intervals, latest readings and whether they are stale by the
node's own interval). The POST takes what a MicroPython board sends, in
JSON, authenticated with the device's key as a bearer token, and passes it
through the same checks as a binary packet (sequence, field validation).
Cross-site requests are refused app-wide (``enviro_sensor.web.cross_site``); a browser
cannot send an ``Authorization`` header cross-site without a preflight,
which this service never grants.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from enviro_sensor.nodes.devices import Device, Measured
from enviro_sensor.nodes.fields import NODE_FIELDS
from enviro_sensor.nodes.intake import NodeIntake, NodeView
from enviro_sensor.nodes.protocol import Code
from enviro_sensor.records import iso_utc
from enviro_sensor.version import SERVICE
from enviro_sensor.web.errors import error_response
from enviro_sensor.web.field_info import field_info, fields_info

blueprint = Blueprint("nodes", __name__)

MAX_SEQUENCE = 2**32 - 1
MAX_INTERVAL = 65535
# A full disk is not mended in a second.
NOT_STORED_RETRY_SECONDS = 60
BODY_KEYS = {"sequence", "values", "battery_volts", "measure_interval_seconds", "wake_interval_seconds"}


def _intake() -> NodeIntake:
    return current_app.extensions["enviro"].nodes


def node_body(view: NodeView) -> dict[str, Any]:
    """A node as JSON; what it has not told yet (before its first packet) is left out."""
    device = view.device
    body: dict[str, Any] = {
        "id": device.id,
        "name": device.name,
        "location": device.location,
        "virtual": device.virtual,
        "status": view.status,
        "stale": view.stale,
        "stored": view.stored,
        "refused": view.refused,
        "measurements": [measured.label for measured in device.measurements],
        "readings": {
            reading.sensor: {
                "time": iso_utc(reading.time),
                "age_seconds": round(reading.age_seconds, 3),
                "stale": reading.stale,
                "values": dict(reading.values),
            }
            for reading in view.readings
        },
    }
    optional = {
        "last_contact": iso_utc(view.last_contact) if view.last_contact is not None else None,
        "age_seconds": round(view.age_seconds, 3) if view.age_seconds is not None else None,
        "fresh_for_seconds": view.fresh_for,
        "battery_volts": view.battery_volts,
        "measure_interval_seconds": view.measure_interval,
        "wake_interval_seconds": view.wake_interval,
        "sequence": view.sequence,
        "transport": view.transport,
        "last_refusal": view.last_refusal,
    }
    body.update((key, value) for key, value in optional.items() if value is not None)
    return body


def _unknown(node: str) -> Response:
    return error_response(404, f"no remote node named {node[:64]!r} (see GET /api/nodes)")


@blueprint.get("/api/nodes")
def nodes() -> Response:
    """Every remote node in ENVIRO_NODES_FILE (and the virtual ones): last contact, battery, readings.
    ---
    tags: [nodes]
    responses:
      200: {$ref: "#/components/responses/Nodes"}
    """
    intake = _intake()
    return jsonify(
        {"result": {"nodes": [node_body(view) for view in intake.views()], "fields": _fields(intake)}}
    )


def _fields(intake: NodeIntake) -> dict[str, dict[str, Any]]:
    """How the nodes' values are shown, by sensor kind: what every device measures, and the battery."""
    kinds: dict[str, dict[str, Any]] = {kind: fields_info(fields) for kind, fields in NODE_FIELDS.items()}
    for device in intake.devices.values():
        for measured in device.measurements:
            kinds.setdefault(measured.sensor, {})[measured.field.key] = field_info(measured.field)
    return kinds


@blueprint.get("/api/nodes/<node>")
def node(node: str) -> Response:
    """One remote node: last contact, battery, intervals, readings, and whether they are stale.
    ---
    tags: [nodes]
    parameters: [{$ref: "#/components/parameters/NodeName"}]
    responses:
      200: {$ref: "#/components/responses/Node"}
      404: {$ref: "#/components/responses/NodeNotFound"}
    """
    device = _intake().find(node)
    if device is None:
        return _unknown(node)
    return jsonify({"result": node_body(_intake().view(device))})


def _key_matches(device: Device) -> bool:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return False
    token = credentials.strip()
    try:
        given = bytes.fromhex(token)
    except ValueError:
        try:
            given = base64.b64decode(token, validate=True)
        except (ValueError, binascii.Error):
            return False
    return hmac.compare_digest(given, device.key)


def _whole(body: dict[str, Any], key: str, high: int, default: int | None) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise ValueError(f"{key} must be a whole number from 0 to {high}")
    return value


def _parse(device: Device, body: Any) -> tuple[int, float | None, int, int, list[tuple[Measured, float]]]:
    if not isinstance(body, dict):
        raise ValueError(
            'send a JSON object like {"sequence": 1, "values": {"bme280.temperature_celsius": 21.5}}'
        )
    unknown = set(body) - BODY_KEYS
    if unknown:
        raise ValueError(f"unknown key(s): {', '.join(sorted(unknown))[:200]}")
    sequence = _whole(body, "sequence", MAX_SEQUENCE, None)
    measure = _whole(body, "measure_interval_seconds", MAX_INTERVAL, 0)
    wake = _whole(body, "wake_interval_seconds", MAX_INTERVAL, 0)
    battery = body.get("battery_volts")
    if battery is not None and (isinstance(battery, bool) or not isinstance(battery, int | float)):
        raise ValueError("battery_volts must be a number")
    values = body.get("values")
    if not isinstance(values, dict) or not values:
        raise ValueError("values must be an object of kind.field: number, with at least one value")
    declared = {measured.label: measured for measured in device.measurements}
    parsed = []
    for label, value in values.items():
        if label not in declared:
            known = ", ".join(declared) or "none"
            raise ValueError(f"{label[:64]!r} is not one of {device.name}'s measurements ({known})")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{label} must be a number")
        parsed.append((declared[label], _number(value)))
    return sequence, _number(battery) if battery is not None else None, measure, wake, parsed


def _number(value: float) -> float:
    """A JSON number as a float; a whole number too large for one is infinite (and refused as such)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


@blueprint.post("/api/nodes/<node>/readings")
def push(node: str) -> Response:
    """A remote node sends its readings (MicroPython boards on Wi-Fi); needs the device's key.

    `Authorization: Bearer <key>`, the key from ENVIRO_NODES_FILE in hex (or base64). The
    sequence number must be above the last one the node sent (by TCP or HTTP). Values are
    keyed `kind.field` as the devices file lists them, and checked against the same ranges
    as a local sensor's. 200 means the values are on disk (ENVIRO_DATA_DIR); 202 that they
    were published but the service keeps no history.
    ---
    tags: [nodes]
    parameters: [{$ref: "#/components/parameters/NodeName"}]
    security: [{nodeKey: []}]
    requestBody: {$ref: "#/components/requestBodies/NodeReadings"}
    responses:
      200: {$ref: "#/components/responses/NodeStored"}
      202: {$ref: "#/components/responses/NodeAccepted"}
      400: {$ref: "#/components/responses/NodeBadRequest"}
      401: {$ref: "#/components/responses/NodeUnauthorized"}
      403: {$ref: "#/components/responses/CrossSite"}
      404: {$ref: "#/components/responses/NodeNotFound"}
      409: {$ref: "#/components/responses/NodeReplayed"}
      413: {$ref: "#/components/responses/PayloadTooLarge"}
      415: {$ref: "#/components/responses/UnsupportedMediaType"}
      422: {$ref: "#/components/responses/NodeValuesRefused"}
      503: {$ref: "#/components/responses/NodeNotStored"}
    """
    intake = _intake()
    device = intake.find(node)
    if device is None:
        intake.count(Code.UNKNOWN_DEVICE, "http")
        return _unknown(node)
    if not _key_matches(device):
        intake.count(Code.BAD_TAG, "http")
        challenge = f'Bearer realm="{SERVICE}", error="invalid_token"'
        return error_response(
            401,
            f"send the key of {device.name} as Authorization: Bearer <key>",
            [("WWW-Authenticate", challenge)],
        )
    if not request.is_json:
        intake.count(Code.MALFORMED, "http")
        return error_response(
            415, 'send JSON (Content-Type: application/json) like {"sequence": 1, "values": {...}}'
        )
    try:
        sequence, battery, measure, wake, values = _parse(device, request.get_json(silent=True))
    except ValueError as err:
        intake.count(Code.MALFORMED, "http")
        return error_response(400, str(err))
    code = intake.push(device, sequence, battery, measure, wake, values)
    if code is Code.REPLAYED:
        last = intake.sequences.last(device.id)
        return error_response(409, f"sequence {sequence} is not above the last one, {last}: replayed or old")
    if code is Code.INVALID_VALUES:
        bad = [m.label for m, v in values if not (math.isfinite(v) and m.field.low <= v <= m.field.high)]
        named = ", ".join(bad) or "battery_volts"
        return error_response(422, f"values outside their fields' ranges, nothing stored: {named}")
    if code is Code.NOT_STORED:
        return error_response(
            503,
            "the readings could not be stored on disk; nothing kept: send them again",
            [("Retry-After", str(NOT_STORED_RETRY_SECONDS))],
        )
    answer = {"node": device.name, "sequence": sequence, "code": code.reason}
    if code is Code.ACCEPTED:
        response = jsonify({"result": {**answer, "accepted": len(values), "stored": 0}})
        response.status_code = 202
        return response
    return jsonify({"result": {**answer, "stored": len(values)}})
