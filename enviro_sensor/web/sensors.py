"""``/api/sensors/*``: the cached readings, by group and by sensor.

The routes follow from the declared groups: ``/api/sensors/<group>`` (and
its aliases) and ``/api/sensors/<group>/<name>`` for every group. Every
answer comes from the HTTP output's cache; a group that has never produced
a valid reading answers 503 with the reason, never zeros.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, current_app, jsonify
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import BaseConverter

from enviro_sensor.outputs.latest import LatestStore, SensorView
from enviro_sensor.records import iso_utc
from enviro_sensor.sensors.config import GroupConfig
from enviro_sensor.web.errors import error_response
from enviro_sensor.web.field_info import fields_info

# A group's status from its sensors', worst first after the mixed case.
_GROUP_PRECEDENCE = ("failing", "stale", "warming-up", "paused", "starting")
# Seconds a client is asked to wait before asking again after a 503.
RETRY_AFTER_SECONDS = 10


def _latest() -> LatestStore:
    return current_app.extensions["enviro"].latest


def _groups() -> dict[str, GroupConfig]:
    return {group.name: group for group in current_app.extensions["enviro"].groups}


def sensor_body(sensor: SensorView) -> dict:
    """One sensor as JSON: status, time, age, stale flag and its values."""
    body: dict = {"status": sensor.status, "description": sensor.description}
    if sensor.values is not None and sensor.wall_time is not None and sensor.age_seconds is not None:
        body.update(
            time=iso_utc(sensor.wall_time),
            age_seconds=round(sensor.age_seconds, 3),
            stale=sensor.stale,
            values=dict(sensor.values),
        )
        if sensor.calibrated:
            body["calibrated"] = list(sensor.calibrated)
        if sensor.notes:
            body["notes"] = dict(sensor.notes)
    if sensor.reason:
        body["reason"] = sensor.reason
    if sensor.next_reading_at is not None:
        body.update(sleeping=sensor.sleeping, next_reading_at=iso_utc(sensor.next_reading_at))
    return body


def group_status(sensors: list[SensorView]) -> str:
    statuses = {sensor.status for sensor in sensors}
    if statuses == {"ok"}:
        return "ok"
    if "ok" in statuses:
        return "degraded"
    return next((status for status in _GROUP_PRECEDENCE if status in statuses), "starting")


def _why(sensor: SensorView) -> str:
    """The status and its reason, the status said once ("warming up, 519 s left", not
    "warming-up, warming up, 519 s left")."""
    words = sensor.status.replace("-", " ")
    if not sensor.reason:
        return sensor.status
    if sensor.reason.startswith(words):
        return sensor.reason
    return f"{sensor.status}, {sensor.reason}"


def _unavailable(message: str) -> Response:
    return error_response(503, message, [("Retry-After", str(RETRY_AFTER_SECONDS))])


def group_answer(name: str) -> Response:
    group = _groups()[name]
    if not group.enabled:
        return _unavailable(f"the {name} group is disabled ({group.disabled_reason})")
    sensors = _latest().views(name)
    if all(sensor.values is None for sensor in sensors):
        reasons = "; ".join(f"{s.name}: {_why(s)}" for s in sensors)
        return _unavailable(f"no valid reading from the {name} group yet ({reasons})")
    return jsonify(
        {
            "result": {
                "group": name,
                "status": group_status(sensors),
                "sensors": {sensor.name: sensor_body(sensor) for sensor in sensors},
            }
        }
    )


def sensor_answer(group_name: str, name: str) -> Response:
    group = _groups()[group_name]
    known = [sensor.name for sensor in group.sensors]
    if name not in known:
        listed = ", ".join(known) or "none configured"
        return error_response(404, f"no sensor named {name!r} in the {group_name} group (known: {listed})")
    if not group.enabled:
        return _unavailable(f"the {group_name} group is disabled ({group.disabled_reason})")
    sensor = _latest().view(name)
    if sensor.values is None:
        return _unavailable(f"no valid reading from {name} yet: {_why(sensor)}")
    return jsonify({"result": {"sensor": name, **sensor_body(sensor)}})


def index() -> Response:
    """The sensor groups: each one's route, polling interval and status.
    ---
    tags: [sensors]
    responses:
      200: {$ref: "#/components/responses/SensorIndex"}
    """
    latest = _latest()
    groups = {}
    for name, group in _groups().items():
        entry: dict = {"route": group.route, "interval_seconds": group.interval}
        if not group.enabled:
            entry.update(status="disabled", reason=group.disabled_reason)
        else:
            sensors = latest.views(name)
            entry["status"] = group_status(sensors)
            fields = {sensor.name: sensor.fields for sensor in group.sensors}
            entry["sensors"] = {
                s.name: {
                    "status": s.status,
                    **({"reason": s.reason} if s.reason else {}),
                    "fields": fields_info(fields.get(s.name, ())),
                }
                for s in sensors
            }
        groups[name] = entry
    return jsonify({"result": {"groups": groups}})


def _group_view(group: GroupConfig) -> Callable[[], Response]:
    def view() -> Response:
        return group_answer(group.name)

    summary = group.description
    if group.aliases:
        summary += "\n\nAlso answered at " + ", ".join(f"`{r}`" for r in group.routes[1:]) + "."
    # flasgger reads the operation from the YAML after "---" in the docstring.
    view.__doc__ = f"""{summary}
---
tags: [sensors]
responses:
  200: {{$ref: "#/components/responses/{group_response_name(group.name)}"}}
  503: {{$ref: "#/components/responses/SensorsUnavailable"}}
"""
    return view


def _sensor_view(group: GroupConfig) -> Callable[[str], Response]:
    def view(name: str) -> Response:
        return sensor_answer(group.name, name)

    view.__doc__ = f"""One sensor of the {group.name} group, by name.
---
tags: [sensors]
parameters:
  - $ref: "#/components/parameters/{parameter_name(group.name)}"
responses:
  200: {{$ref: "#/components/responses/{sensor_response_name(group.name)}"}}
  404: {{$ref: "#/components/responses/NotFound"}}
  503: {{$ref: "#/components/responses/SensorsUnavailable"}}
"""
    return view


def group_response_name(group: str) -> str:
    return group[:1].upper() + group[1:] + "Readings"


def sensor_response_name(group: str) -> str:
    return group[:1].upper() + group[1:] + "SensorReading"


def parameter_name(group: str) -> str:
    return group[:1].upper() + group[1:] + "SensorName"


class SensorName(BaseConverter):
    """A sensor's name in a path: anything but the group's actions (``enviro_sensor.web.pause``).

    Without it ``GET /api/sensors/weather/pause`` would match the sensor route,
    and OPTIONS on the pause route would offer GET.
    """

    regex = r"(?!(?:pause|resume)$)[^/]+"


def _add_converter(state: BlueprintSetupState) -> None:
    state.app.url_map.converters["sensor_name"] = SensorName


def make_blueprint(groups: list[GroupConfig]) -> Blueprint:
    """The routes of these groups: one per group (and alias), one per group's sensor."""
    blueprint = Blueprint("sensors", __name__, url_prefix="/api/sensors")
    # Registered before the rules that use it (deferred functions run in order).
    blueprint.record_once(_add_converter)
    blueprint.add_url_rule("", "index", index, methods=["GET"])
    for group in groups:
        view = _group_view(group)
        for route in group.routes:
            blueprint.add_url_rule(
                route.removeprefix("/api/sensors"), f"group_{group.name}", view, methods=["GET"]
            )
        blueprint.add_url_rule(
            f"/{group.name}/<sensor_name:name>", f"sensor_{group.name}", _sensor_view(group), methods=["GET"]
        )
    return blueprint
