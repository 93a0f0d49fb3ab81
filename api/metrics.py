"""``/metrics``: the app's private registry in the format the scraper asks for."""

from __future__ import annotations

import gzip

from flask import Blueprint, Response, current_app, request
from prometheus_client.exposition import choose_encoder

blueprint = Blueprint("metrics", __name__)
# Fast compression: most of the gain for a fraction of the time of level 9.
GZIP_LEVEL = 1


@blueprint.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics: the readings in base units, and per-sensor health.

    A stale reading is left out, so Prometheus sees the series end. Compressed
    with gzip when the scraper asks (Prometheus does).
    ---
    tags: [service]
    responses:
      200: {$ref: "#/components/responses/Metrics"}
    """
    registry = current_app.extensions["enviro"].registry
    # Prometheus asks for OpenMetrics when it can; everyone else gets text 0.0.4.
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    body = encode(registry)
    # As prometheus_client's own exposition server does: a scrape is text
    # that shrinks about tenfold, which matters on a Pi's Wi-Fi.
    headers = {"Vary": "Accept-Encoding"}
    if request.accept_encodings.quality("gzip") > 0:
        body = gzip.compress(body, compresslevel=GZIP_LEVEL)
        headers["Content-Encoding"] = "gzip"
    return Response(body, content_type=content_type, headers=headers)
