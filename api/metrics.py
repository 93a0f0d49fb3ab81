"""``/metrics``: the app's private registry in the format the scraper asks for."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from prometheus_client.exposition import choose_encoder

blueprint = Blueprint("metrics", __name__)


@blueprint.get("/metrics")
def metrics():
    """Prometheus metrics: the readings in base units, and per-sensor health.

    A stale reading is left out, so Prometheus sees the series end.
    ---
    tags: [service]
    responses:
      200: {$ref: "#/components/responses/Metrics"}
    """
    registry = current_app.extensions["enviro"].registry
    # Prometheus asks for OpenMetrics when it can; everyone else gets text 0.0.4.
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(registry), content_type=content_type)
