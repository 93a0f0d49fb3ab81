"""The banner at ``/`` (JSON, or a small dashboard for browsers) and ``/healthz``."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request, url_for

from enviro_sensor.version import SERVICE, VERSION
from enviro_sensor.web.errors import error_response

blueprint = Blueprint("root", __name__)


def _links() -> dict[str, str]:
    return {
        "sensors": url_for("sensors.index"),
        "metrics": url_for("metrics.metrics"),
        "health": url_for("root.healthz"),
        "docs": url_for("flasgger.apidocs"),
        "lcd": url_for("lcd.current_frame"),
    }


@blueprint.get("/")
def banner():
    """The service, its version, its board, and links to the rest.

    A browser (Accept: text/html first) gets a small live dashboard instead.
    ---
    tags: [service]
    responses:
      200: {$ref: "#/components/responses/Banner"}
    """
    service = current_app.extensions["enviro"]
    # curl sends */*, which picks the first offer; browsers rank HTML first.
    wants = request.accept_mimetypes.best_match(["application/json", "text/html"])
    if wants == "text/html":
        return render_template("dashboard.html", service=SERVICE, version=VERSION, board=service.board_kind)
    return jsonify(
        {"result": {"service": SERVICE, "version": VERSION, "board": service.board_kind, "links": _links()}}
    )


@blueprint.get("/healthz")
def healthz():
    """Liveness, for container and systemd health checks.

    A failing sensor does not make the service unhealthy (restarting would not
    mend it); polling that has stopped does.
    ---
    tags: [service]
    responses:
      200: {$ref: "#/components/responses/Health"}
      503: {$ref: "#/components/responses/Unhealthy"}
    """
    service = current_app.extensions["enviro"]
    problems = service.problems()
    if problems:
        return error_response(503, "; ".join(problems))
    return jsonify({"result": {"status": "ok"}})
