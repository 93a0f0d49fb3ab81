"""``/metrics``: the app's private registry in the format the scraper asks for."""

from __future__ import annotations

import threading
import zlib

from flask import Blueprint, Response, current_app, request
from prometheus_client.exposition import choose_encoder

from enviro_sensor.metrics.exposition import Encoder, MemoizedEncoder

blueprint = Blueprint("metrics", __name__)
# Fast compression: most of the gain for a fraction of the time of level 9.
GZIP_LEVEL = 1
# The formats scrapers ask for (text; OpenMetrics 1.0.0 with its escaping
# schemes) each get a memo; past this many, an Accept header making up
# versions is answered by the library alone rather than growing the memos.
MAX_MEMOIZED_FORMATS = 8

_memos_lock = threading.Lock()


def _memoized(encode: Encoder, content_type: str) -> Encoder:
    """The app's memo for this format (by its content type), made on first use."""
    memos: dict[str, MemoizedEncoder] = current_app.extensions.setdefault("enviro_exposition", {})
    memo = memos.get(content_type)
    if memo is None:
        with _memos_lock:
            if len(memos) >= MAX_MEMOIZED_FORMATS:
                return encode
            memo = memos.setdefault(content_type, MemoizedEncoder(encode))
    return memo


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
    body = _memoized(encode, content_type)(registry)
    # As prometheus_client's own exposition server does: a scrape is text
    # that shrinks about tenfold, which matters on a Pi's Wi-Fi.
    headers = {"Vary": "Accept-Encoding"}
    if request.accept_encodings.quality("gzip") > 0:
        # The gzip container straight from zlib (wbits 31): the same work as
        # gzip.compress, without the time in the header, so that the same
        # text is always the same bytes.
        body = zlib.compress(body, GZIP_LEVEL, wbits=31)
        headers["Content-Encoding"] = "gzip"
    return Response(body, content_type=content_type, headers=headers)
