"""``/api/sensors/*``: the cached readings, by group and by sensor.

Every answer comes from the collector's cache; a group that has never
produced a valid reading answers 503 with the reason, never zeros.
"""

from __future__ import annotations

import datetime
import functools

from flask import Blueprint, current_app, jsonify

from api.errors import error_response

blueprint = Blueprint("sensors", __name__, url_prefix="/api/sensors")

# A group's status from its sensors', worst first after the mixed case.
_GROUP_PRECEDENCE = ("failing", "stale", "warming-up", "starting")


def _service():
    return current_app.extensions["enviro"]


# A reading's time is formatted for every request that shows it; it only
# changes once per poll.
@functools.lru_cache(maxsize=64)
def _iso(timestamp: float) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sensor_body(sensor) -> dict:
    """One sensor as JSON: status, time, age, stale flag and its values."""
    body = {"status": sensor.status, "description": sensor.description}
    if sensor.values is not None:
        body.update(
            time=_iso(sensor.wall_time),
            age_seconds=round(sensor.age_seconds, 3),
            stale=sensor.stale,
            values=sensor.values,
        )
    if sensor.reason:
        body["reason"] = sensor.reason
    return body


def group_status(sensors: list) -> str:
    statuses = {sensor.status for sensor in sensors}
    if statuses == {"ok"}:
        return "ok"
    if "ok" in statuses:
        return "degraded"
    return next((status for status in _GROUP_PRECEDENCE if status in statuses), "starting")


def _group_sensors(name: str) -> list:
    return list(_service().collector.snapshot(name).values())


def _unavailable(group, sensors):
    if not group.enabled:
        return error_response(503, f"the {group.name} group is disabled (ENVIRO_GROUPS)")
    reasons = "; ".join(f"{s.name}: {s.status}, {s.reason}" for s in sensors)
    return error_response(503, f"no valid reading from the {group.name} group yet ({reasons})")


def group_answer(name: str):
    group = _service().collector.groups[name]
    sensors = _group_sensors(name)
    if not group.enabled or all(sensor.values is None for sensor in sensors):
        return _unavailable(group, sensors)
    return jsonify(
        {
            "result": {
                "group": name,
                "status": group_status(sensors),
                "sensors": {sensor.name: sensor_body(sensor) for sensor in sensors},
            }
        }
    )


@blueprint.get("")
def index():
    """The sensor groups: each one's route, polling interval and status.
    ---
    tags: [sensors]
    responses:
      200: {$ref: "#/components/responses/SensorIndex"}
    """
    collector = _service().collector
    groups = {}
    for name, group in collector.groups.items():
        sensors = _group_sensors(name)
        entry = {"route": group.route, "interval_seconds": group.interval}
        if not group.enabled:
            entry.update(
                status="disabled", reason="not in ENVIRO_GROUPS" if group.readers else "no sensors listed"
            )
        else:
            entry["status"] = group_status(sensors)
            entry["sensors"] = {
                s.name: {"status": s.status, **({"reason": s.reason} if s.reason else {})} for s in sensors
            }
        groups[name] = entry
    return jsonify({"result": {"groups": groups}})


@blueprint.get("/weather")
def weather():
    """BME280 temperature (raw and CPU-heat compensated), pressure, humidity; LTR559 light and proximity.
    ---
    tags: [sensors]
    responses:
      200: {$ref: "#/components/responses/WeatherReadings"}
      503: {$ref: "#/components/responses/SensorsUnavailable"}
    """
    return group_answer("weather")


@blueprint.get("/gas")
def gas():
    """MICS6814 oxidising, reducing and NH3 sensing resistances.

    503 while the heater warms up (ENVIRO_GAS_WARMUP).
    ---
    tags: [sensors]
    responses:
      200: {$ref: "#/components/responses/GasReadings"}
      503: {$ref: "#/components/responses/SensorsUnavailable"}
    """
    return group_answer("gas")


# "pollution" is the original service's name for the route; both are served.
@blueprint.get("/pollution")
@blueprint.get("/particulates")
def pollution():
    """PMS5003 particulate mass (PM1, PM2.5, PM10; standard and atmospheric) and particle counts.

    /api/sensors/pollution and /api/sensors/particulates answer the same.
    ---
    tags: [sensors]
    responses:
      200: {$ref: "#/components/responses/ParticulatesReadings"}
      503: {$ref: "#/components/responses/SensorsUnavailable"}
    """
    return group_answer("particulates")


@blueprint.get("/i2c")
def i2c():
    """The extra I2C sensors of ENVIRO_I2C_SENSORS (by default an AHT10 and a BMP280).
    ---
    tags: [sensors]
    responses:
      200: {$ref: "#/components/responses/I2cReadings"}
      503: {$ref: "#/components/responses/SensorsUnavailable"}
    """
    return group_answer("i2c")


@blueprint.get("/i2c/<name>")
def i2c_sensor(name: str):
    """One extra I2C sensor, by name.
    ---
    tags: [sensors]
    parameters:
      - $ref: "#/components/parameters/I2cSensorName"
    responses:
      200: {$ref: "#/components/responses/I2cSensorReading"}
      404: {$ref: "#/components/responses/NotFound"}
      503: {$ref: "#/components/responses/SensorsUnavailable"}
    """
    sensor = next((s for s in _group_sensors("i2c") if s.name == name), None)
    if sensor is None:
        known = ", ".join(s.name for s in _group_sensors("i2c")) or "none configured"
        return error_response(404, f"no I2C sensor named {name!r} (known: {known})")
    if sensor.values is None:
        return error_response(503, f"no valid reading from {name} yet: {sensor.status}, {sensor.reason}")
    return jsonify({"result": {"sensor": name, **sensor_body(sensor)}})
