"""``/api/sensors``: the sensor groups, their routes and their status."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

blueprint = Blueprint("sensors", __name__, url_prefix="/api/sensors")


@blueprint.get("")
def index():
    service = current_app.extensions["enviro"]
    return jsonify({"result": {"groups": service.group_status()}})
