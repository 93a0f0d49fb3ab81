"""``POST /api/sensors/<group>/pause`` and ``/resume``: stop and restart a group's polling.

While a group is paused its sensors report ``paused`` (JSON and the
``enviro_sensor_paused`` metric), nothing is read, and parts that can rest
do: the PMS5003's fan stops through its enable pin. The history shows the
gap, with the status change that explains it. Token-protected like the LCD
post; cross-site requests are refused app-wide (``enviro_sensor.web.cross_site``).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, current_app, jsonify

from enviro_sensor.sensors.config import GroupConfig
from enviro_sensor.web.auth import unauthorised
from enviro_sensor.web.errors import error_response


def _change(group: GroupConfig, pause: bool) -> Response:
    service = current_app.extensions["enviro"]
    action = "pausing a sensor group" if pause else "resuming a sensor group"
    denied = unauthorised(service.api_token, action)
    if denied is not None:
        return denied
    if not group.enabled:
        return error_response(409, f"the {group.name} group is disabled ({group.disabled_reason})")
    if pause:
        service.collector.pause(group.name)
    else:
        service.collector.resume(group.name)
    return jsonify({"result": {"group": group.name, "paused": pause}})


def _view(group: GroupConfig, pause: bool) -> Callable[[], Response]:
    def view() -> Response:
        return _change(group, pause)

    # Only the parts of this group that rest are named (a summary is plain
    # text in Swagger UI: no Markdown).
    notes = sorted({sensor.kind.paused_note for sensor in group.sensors if sensor.kind.paused_note})
    rests = f" ({'; '.join(notes)})" if notes else ""
    what = (
        f"Stop polling the {group.name} group: its sensors report paused until resumed{rests}. "
        "Pausing a paused group changes nothing."
        if pause
        else f"Poll the {group.name} group again from its next interval. Resuming a running group changes nothing."
    )
    view.__doc__ = f"""{what}
---
tags: [sensors]
security: [{{}}, {{apiToken: []}}]
responses:
  200: {{$ref: "#/components/responses/PauseChanged"}}
  401: {{$ref: "#/components/responses/Unauthorized"}}
  403: {{$ref: "#/components/responses/CrossSite"}}
  409: {{$ref: "#/components/responses/GroupDisabled"}}
"""
    return view


def make_blueprint(groups: list[GroupConfig]) -> Blueprint:
    """A pause and a resume route per group."""
    blueprint = Blueprint("pause", __name__, url_prefix="/api/sensors")
    for group in groups:
        for verb, pause in (("pause", True), ("resume", False)):
            blueprint.add_url_rule(
                f"/{group.name}/{verb}", f"{verb}_{group.name}", _view(group, pause), methods=["POST"]
            )
    return blueprint
