"""JSON error bodies for every error Flask can raise, never an HTML page."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from gunicorn.http.errors import ParseException
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


def error_response(status: int, message: str, headers=None):
    """The contract's error envelope: ``{"error": {"status", "message"}}``."""
    response = jsonify({"error": {"status": status, "message": message}})
    response.status_code = status
    for name, value in headers or ():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _http_error(err: HTTPException):
    # get_headers keeps what the status needs, such as Allow on a 405.
    return error_response(err.code or 500, err.description or err.name, err.get_headers())


def _unreadable_body(err: ParseException):
    # gunicorn decodes a chunked body as the app reads it, and raises its
    # parse errors (InvalidChunkSize, ChunkMissingTerminator, ...) from that
    # read: a client's mistake, not the server's.
    return error_response(400, f"the request body cannot be read: {type(err).__name__}: {str(err)[:200]}")


def _unexpected_error(err: Exception):
    if isinstance(err, HTTPException):
        return _http_error(err)
    log.exception("unhandled error")
    return error_response(500, InternalServerError.description)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(ParseException, _unreadable_body)
    app.register_error_handler(Exception, _unexpected_error)
