"""``/api/outputs``: how each output is doing."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from enviro_sensor.outputs.hub import OutputState
from enviro_sensor.records import iso_utc

blueprint = Blueprint("outputs", __name__)


def _output_body(state: OutputState) -> dict:
    body: dict = {
        "up": state.up,
        "connected": state.connected,
        "queued": state.queued,
        "sent": state.sent,
        "buffered": state.buffered,
        "dropped": dict(state.dropped),
        "errors": state.errors,
    }
    # Left out until there is something to say, as a sensor's reason is.
    if state.last_sent is not None:
        body["last_sent"] = iso_utc(state.last_sent)
    if state.last_error is not None:
        body["last_error"] = state.last_error
    if state.last_error_at is not None:
        body["last_error_at"] = iso_utc(state.last_error_at)
    return body


@blueprint.get("/api/outputs")
def outputs() -> Response:
    """Each output's state: up, connected, queued, sent, buffered, dropped by reason, errors, last error and when.
    ---
    tags: [service]
    responses:
      200: {$ref: "#/components/responses/Outputs"}
    """
    hub = current_app.extensions["enviro"].outputs
    return jsonify({"result": {"outputs": {state.name: _output_body(state) for state in hub.states()}}})
