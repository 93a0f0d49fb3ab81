"""``/api/lcd``: post a message to the LCD, or see what it shows.

``POST`` takes JSON ``{"message": "...", "color": "...", "background": "...",
"duration_seconds": 60}`` or a ``text/plain`` body (the message itself). With
``duration_seconds`` the message gives the screen back after that long (to
the readings, or the start-up screen in ENVIRO_LCD_MODE=messages); without,
it stays until the next message. curl's default form type is
read as JSON too, so ``curl -d '{"message": "hi"}'`` works as people expect.
``GET`` answers the current frame as PNG.
"""

from __future__ import annotations

import io
import json
import re

from flask import Blueprint, Request, Response, current_app, jsonify, request
from PIL import ImageColor
from werkzeug.exceptions import RequestEntityTooLarge

from enviro_sensor.lcd.display import DisplayUnavailable
from enviro_sensor.lcd.render import Style
from enviro_sensor.lcd.text import visible
from enviro_sensor.web.auth import unauthorised
from enviro_sensor.web.errors import error_response

blueprint = Blueprint("lcd", __name__, url_prefix="/api/lcd")

# More characters than this could never be read on 160x80 pixels (about 150
# fit at the smallest size); a longer message is refused (400), as the
# schema's maxLength says. 413 is for a body over ENVIRO_MAX_BODY_BYTES.
MAX_MESSAGE_CHARACTERS = 1000
# The colour forms the schema allows, and no others: a lowercase CSS/X11 name
# or "#rrggbb". Pillow would also take "#fff", "RED", "rgb(300,300,300)" and
# more, which no client reading the schema would expect to work.
COLOUR_NAMES = frozenset(ImageColor.colormap)
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
FIELDS = ("message", "color", "background", "duration_seconds")
# How long a message may hold the screen before the readings come back: at
# least a second (a frame takes ~50 ms to draw), at most a day; for longer,
# leave duration_seconds out and the message stays until the next.
MIN_DURATION_SECONDS = 1
MAX_DURATION_SECONDS = 86400
FORM_TYPE = "application/x-www-form-urlencoded"  # what curl -d sends by default
ACCEPTED = 'send JSON like {"message": "hi"} (Content-Type: application/json) or text/plain'


class Rejected(Exception):
    """A request the LCD will not draw: its status and the reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _service():
    return current_app.extensions["enviro"]


def _decoded_body(req: Request) -> str:
    charset = req.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8", "us-ascii"):
        raise Rejected(415, f"the body must be UTF-8, not {charset}")
    try:
        body = req.get_data(cache=False)
    except RequestEntityTooLarge:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        raise Rejected(413, f"the body is larger than {limit} bytes (ENVIRO_MAX_BODY_BYTES)") from None
    if not body:
        raise Rejected(400, f"the body is empty; {ACCEPTED}")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise Rejected(400, f"the body is not valid UTF-8 (byte {err.start})") from None


def _json_fields(text: str, is_form: bool) -> dict:
    try:
        fields = json.loads(text)
    except RecursionError:
        raise Rejected(400, "invalid JSON: nested too deeply") from None
    except ValueError as err:
        # curl -d '{...' sends a broken JSON object as a form: it was meant as
        # JSON, and the answer says what is wrong with it. key=value pairs
        # are form data, which is not accepted.
        if is_form and not text.lstrip().startswith(("{", "[", '"')):
            raise Rejected(415, f"form data is not accepted; {ACCEPTED}") from None
        message = getattr(err, "msg", str(err))
        where = f" at line {err.lineno} column {err.colno}" if isinstance(err, json.JSONDecodeError) else ""
        raise Rejected(400, f"invalid JSON: {message}{where}") from None
    if not isinstance(fields, dict):
        raise Rejected(400, f'the JSON body must be an object like {{"message": "hi"}}, not {_kind(fields)}')
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        names = ", ".join(repr(name)[:40] for name in unknown[:5])
        raise Rejected(400, f"unknown field(s) {names}; the fields are {', '.join(FIELDS)}")
    return fields


def _kind(value: object) -> str:
    return {list: "an array", dict: "an object", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _color(fields: dict, name: str, default: tuple[int, int, int]) -> tuple[int, int, int]:
    value = fields.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise Rejected(400, f'{name} must be a colour name or "#rrggbb", not {_kind(value)}')
    if value not in COLOUR_NAMES and not HEX_COLOUR.fullmatch(value):
        shown = repr(value[:40]) + ("..." if len(value) > 40 else "")
        raise Rejected(400, f'{name}: unknown colour {shown}; use a lowercase name like "red" or "#rrggbb"')
    return ImageColor.getrgb(value)[:3]


def _duration(fields: dict) -> float | None:
    value = fields.get("duration_seconds")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Rejected(400, f"duration_seconds must be a number of seconds, not {_kind(value)}")
    # Also refuses NaN and Infinity, which Python's JSON parser lets through.
    if not MIN_DURATION_SECONDS <= value <= MAX_DURATION_SECONDS:
        raise Rejected(
            400,
            f"duration_seconds must be from {MIN_DURATION_SECONDS} to {MAX_DURATION_SECONDS}, got {value!r:.40}",
        )
    return float(value)


def read_message(req: Request) -> tuple[str, Style, float | None]:
    """The message, its colours and how long it stays, from a request; raises Rejected."""
    if req.mimetype != "text/plain" and not req.is_json and req.mimetype != FORM_TYPE:
        kind = req.mimetype or "no Content-Type"
        raise Rejected(415, f"{kind} is not accepted; {ACCEPTED}")
    text = _decoded_body(req)
    fields = (
        {"message": text} if req.mimetype == "text/plain" else _json_fields(text, req.mimetype == FORM_TYPE)
    )
    if "message" not in fields:
        raise Rejected(400, 'the message is missing: send {"message": "..."}')
    message = fields["message"]
    if not isinstance(message, str):
        raise Rejected(400, f"the message must be a string, not {_kind(message)}")
    if len(message) > MAX_MESSAGE_CHARACTERS:
        raise Rejected(
            400, f"the message has {len(message)} characters; at most {MAX_MESSAGE_CHARACTERS} are accepted"
        )
    if not visible(message):
        raise Rejected(400, "the message is empty: it has nothing to show")
    defaults = Style()
    style = Style(_color(fields, "color", defaults.color), _color(fields, "background", defaults.background))
    return message, style, _duration(fields)


@blueprint.post("")
def post_message():
    """Draw a message on the LCD; the answer says what was drawn.

    The text is drawn at the largest size that fits 160x80 pixels; past what
    fits at the smallest size the last line ends in "…". With
    `duration_seconds` the readings (or the start-up screen) come back after
    that long; without, the message stays until the next one.
    ---
    tags: [lcd]
    security: [{}, {apiToken: []}]
    requestBody: {$ref: "#/components/requestBodies/LcdMessage"}
    responses:
      200: {$ref: "#/components/responses/LcdDrawn"}
      400: {$ref: "#/components/responses/BadRequest"}
      401: {$ref: "#/components/responses/Unauthorized"}
      403: {$ref: "#/components/responses/CrossSite"}
      413: {$ref: "#/components/responses/PayloadTooLarge"}
      415: {$ref: "#/components/responses/UnsupportedMediaType"}
      503: {$ref: "#/components/responses/LcdUnavailable"}
    """
    service = _service()
    denied = unauthorised(service.api_token, "drawing on the LCD")
    if denied is not None:
        return denied
    try:
        message, style, duration = read_message(request)
    except Rejected as err:
        return error_response(err.status, str(err))
    try:
        rendering = service.display.show(message, style, duration)
    except DisplayUnavailable as err:
        return error_response(503, str(err))
    summary = rendering.summary()
    if duration is not None:
        summary["duration_seconds"] = duration
    return jsonify({"result": summary})


@blueprint.get("")
def current_frame():
    """What the LCD shows now, as PNG.
    ---
    tags: [lcd]
    responses:
      200: {$ref: "#/components/responses/LcdFrame"}
      503: {$ref: "#/components/responses/LcdUnavailable"}
    """
    try:
        image = _service().display.frame()
    except DisplayUnavailable as err:
        return error_response(503, str(err))
    png = io.BytesIO()
    image.save(png, "PNG")
    return Response(png.getvalue(), mimetype="image/png", headers={"Cache-Control": "no-store"})
