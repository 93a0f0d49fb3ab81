"""HTTP answers no route gives: OPTIONS and slash-merging redirects, as JSON.

Flask answers both itself, with an empty ``text/html`` OPTIONS answer and an
HTML redirect page whose Location is an absolute URL built from the client's
Host header. Here OPTIONS answers JSON listing the methods (with ``Allow``),
and a path with doubled slashes (``//api//sensors``) is redirected with a
relative Location, the client's Host taking no part.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, request
from werkzeug.routing import RequestRedirect

from enviro_sensor.web.errors import error_response


def _json_options(response: Response) -> Response:
    rule = request.url_rule
    # Flask sets provide_automatic_options on the rules it answers OPTIONS for.
    if request.method != "OPTIONS" or not getattr(rule, "provide_automatic_options", False):
        return response
    allowed = sorted(response.allow)
    answer = jsonify({"result": {"allow": allowed}})
    answer.headers["Allow"] = ", ".join(allowed)
    return answer


def _relative_redirect():
    redirect = request.routing_exception
    if not isinstance(redirect, RequestRedirect):
        return None
    target = urlsplit(redirect.new_url)
    # One leading slash: "//host/..." would be a link to another host.
    location = "/" + target.path.lstrip("/") + (f"?{target.query}" if target.query else "")
    return error_response(redirect.code, f"this resource is at {location}", [("Location", location)])


def init_app(app: Flask) -> None:
    app.before_request(_relative_redirect)
    app.after_request(_json_options)
