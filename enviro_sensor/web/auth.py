"""The API token check of every state-changing route (the LCD post, pause and resume)."""

from __future__ import annotations

import hmac

from flask import Response, request

from enviro_sensor.version import SERVICE
from enviro_sensor.web.errors import error_response


def unauthorised(token: str | None, action: str) -> Response | None:
    """A 401 answer unless the request carries the API token (when one is set).

    ``action`` names what needs the token, for the message ("drawing on the LCD").
    """
    if not token:
        return None
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    challenge = f'Bearer realm="{SERVICE}"'
    if scheme.lower() != "bearer" or not credentials.strip():
        message = f"{action} needs the API token: send Authorization: Bearer <token>"
        return error_response(401, message, [("WWW-Authenticate", challenge)])
    # Constant-time comparison: the answer's timing must not reveal the token.
    if not hmac.compare_digest(credentials.strip().encode(), token.encode()):
        challenge += ', error="invalid_token"'
        return error_response(401, "the API token is wrong", [("WWW-Authenticate", challenge)])
    return None
