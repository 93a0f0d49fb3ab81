"""Refuse state changes that a page from another site makes a browser send.

Without ``ENVIRO_API_TOKEN`` (the default), any web page open in a browser on
the LAN could otherwise draw on the LCD: a cross-origin ``text/plain`` or
form POST is a CORS "simple request", sent without a preflight. Browsers say
where such a request comes from, and pages cannot forge it: ``Sec-Fetch-Site``
(all current browsers) or, from older ones, ``Origin``. A request whose
browser says it comes from another site is refused with 403; one that says
neither header is no browser's (curl, scripts, Prometheus) and goes on, so
nothing changes for them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Request, request

from enviro_sensor.web.errors import error_response

# Methods that change nothing here; every other one may.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# "same-site" is not enough: another service on the same Pi (another port)
# is the same site, and a different origin.
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})


def cross_site_source(req: Request) -> str | None:
    """What marks ``req`` as sent by a browser for a page of another site, or None."""
    fetch_site = req.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return None if fetch_site.strip().lower() in ALLOWED_FETCH_SITES else f"Sec-Fetch-Site: {fetch_site}"
    origin = req.headers.get("Origin")
    if origin is None:
        return None
    # The page's host and port against the one the browser asked (through a
    # trusted proxy, the host it forwarded).
    if origin.strip().lower() == "null" or urlsplit(origin.strip()).netloc.lower() != req.host.lower():
        return f"Origin: {origin}"
    return None


def _refuse_cross_site():
    if request.method in SAFE_METHODS or request.routing_exception is not None:
        return None
    source = cross_site_source(request)
    if source is None:
        return None
    return error_response(
        403,
        f"cross-site request refused ({source[:100]}): pages from other sites may not change "
        "anything here. Use this service's own pages, or a client that is not a browser (curl, scripts).",
    )


def init_app(app: Flask) -> None:
    app.before_request(_refuse_cross_site)
