"""The API's OpenAPI 3 description, served at ``/apispec.json`` and shown at ``/api/docs``.

flasgger collects each operation from the YAML after ``---`` in its route's
docstring. This module supplies what those operations refer to: the error
answers, the LCD's request and answer, the service's own routes, and (from
``enviro_sensor.web.sensor_schemas``) the sensor schemas generated from the sensor kinds'
declarations.

The Swagger UI page is flasgger's, its scripts and styles a current
swagger-ui build from the ``swagger-ui-bundle-v2`` package, served by the
service itself, never a CDN (a Pi is often offline; ``enviro_sensor/web/templates/flasgger/``
drops the web font and jQuery the stock page fetches). The page shows this
service's spec only: it sets up Swagger UI itself
(``enviro_sensor/web/templates/flasgger/swagger.html``) with query configuration off, so a
link such as ``/api/docs?url=http://elsewhere/spec.json`` cannot make it
show another spec, or send a token typed into "Authorize" elsewhere. The spec names no host: its server is
the path prefix the request came through, so "Try it out" calls the server
that served the page, also behind a reverse proxy (``ENVIRO_TRUST_PROXY``).

flasgger (with jsonschema, PyYAML and mistune, about 5 MB) is imported, and
the spec built, by the first request of the page or the spec: most services
never serve either, and the routes are registered at start all the same,
under flasgger's own endpoint names.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, redirect, request, url_for
from swagger_ui_bundle import swagger_ui_path

from enviro_sensor.nodes.devices import Device
from enviro_sensor.sensors.config import GroupConfig
from enviro_sensor.version import SERVICE, VERSION
from enviro_sensor.web.history_schemas import HISTORY_RESPONSES, HISTORY_SCHEMAS, history_parameters
from enviro_sensor.web.lcd import (
    COLOUR_NAMES,
    HEX_COLOUR,
    MAX_DURATION_SECONDS,
    MAX_MESSAGE_CHARACTERS,
    MIN_DURATION_SECONDS,
)
from enviro_sensor.web.node_schemas import node_components, remote_series
from enviro_sensor.web.sensor_schemas import (
    json_object,
    json_response,
    ref,
    result,
    sensor_parameters,
    sensor_responses,
    sensor_schemas,
)

if TYPE_CHECKING:
    from flasgger import Swagger
    from flask.typing import ResponseReturnValue

#: The security scheme of the operations that take ENVIRO_API_TOKEN.
TOKEN_SCHEME = "apiToken"
DOCS_ROUTE = "/api/docs"
SPEC_ROUTE = "/apispec.json"
OPENAPI_VERSION = "3.0.3"

DESCRIPTION = """\
Readings of a Pimoroni Enviro+ board (and extra I2C sensors), polled in the
background and answered from a cache: no request waits on hardware.

* Success: `{"result": ...}`. Failure: `{"error": {"status": 404, "message": "..."}}`
  with the same status code, for every error (400, 401, 403 for a cross-site request
  from a browser, 404, 405 with an `Allow` header, 408, 413, 414, 415, 417, 431, 500,
  503), never an HTML page.
* Values carry their unit in the key (`temperature_celsius`, `pressure_hectopascals`).
  A reading has its time (UTC), its age, and `stale: true` once it is too old.
* A sensor group that has no valid reading yet answers 503 with the reason, never zeros.
"""

TAGS = [
    {"name": "sensors", "description": "Cached readings by sensor group"},
    {
        "name": "history",
        "description": "Past readings from the SQLite history: series, exports, daily archives",
    },
    {"name": "nodes", "description": "Remote battery nodes that push their readings (docs/nodes.md)"},
    {"name": "lcd", "description": "The board's 160x80 LCD"},
    {"name": "service", "description": "Banner, health and Prometheus metrics"},
]


# -- answers every route shares ------------------------------------------------


def error_response(status: int, description: str, example: str, **extra: Any) -> dict[str, Any]:
    """An error answer: the envelope, its status fixed to this response's code."""
    schema = json_object(
        {
            "error": json_object(
                {
                    "status": {"type": "integer", "enum": [status]},
                    "message": {
                        "type": "string",
                        "minLength": 1,
                        "description": "What went wrong, for people.",
                    },
                },
                ["status", "message"],
            )
        },
        ["error"],
    )
    answer = json_response(description, schema, {"error": {"status": status, "message": example}})
    answer.update(extra)
    return answer


ERROR_RESPONSES = {
    "BadRequest": error_response(
        400,
        "The body cannot be used: empty, not JSON or UTF-8, no message, a message over "
        f"{MAX_MESSAGE_CHARACTERS} characters, or a colour that is neither a name nor #rrggbb.",
        "the message is missing",
    ),
    "Unauthorized": error_response(
        401,
        "ENVIRO_API_TOKEN is set and the request lacks it, or has another.",
        "the API token is wrong",
        headers={"WWW-Authenticate": {"schema": {"type": "string"}, "example": f'Bearer realm="{SERVICE}"'}},
    ),
    "CrossSite": error_response(
        403,
        "A browser sent this for a page of another site (Sec-Fetch-Site or Origin): state changes "
        "come only from this service's own pages or from clients that are not browsers.",
        "cross-site request refused (Sec-Fetch-Site: cross-site): pages from other sites may not "
        "change anything here. Use this service's own pages, or a client that is not a browser (curl, scripts).",
    ),
    "NotFound": error_response(
        404, "No sensor of that name.", "no sensor named 'sht31' in the i2c group (known: aht10, bmp280)"
    ),
    "PayloadTooLarge": error_response(
        413,
        "The body is larger than ENVIRO_MAX_BODY_BYTES.",
        "the body is larger than 16384 bytes (ENVIRO_MAX_BODY_BYTES)",
    ),
    "UnsupportedMediaType": error_response(
        415,
        "Neither JSON nor text/plain (or not UTF-8).",
        'application/xml is not accepted; send JSON like {"message": "hi"} '
        "(Content-Type: application/json) or text/plain",
    ),
    "SensorsUnavailable": error_response(
        503,
        "No valid reading yet: the reason per sensor (absent, failing, warming up), or the group is disabled.",
        "no valid reading from the weather group yet (bme280: failing, OSError: [Errno 121] "
        "Remote I/O error; ltr559: starting, no reading yet)",
        headers={
            "Retry-After": {
                "schema": {"type": "integer", "minimum": 1},
                "description": "Seconds to wait before asking again.",
            }
        },
    ),
    "LcdUnavailable": error_response(
        503,
        "The LCD is off (ENVIRO_LCD=off), failed, or busy for more than 2 s.",
        "the LCD is off (ENVIRO_LCD=off)",
    ),
    "Unhealthy": error_response(
        503, "The service cannot do its job; restart it.", "sensor polling has stopped"
    ),
}


# -- the LCD -------------------------------------------------------------------


def _colour(default: str) -> dict[str, Any]:
    return {
        "type": "string",
        "nullable": True,
        # The same two forms the route accepts (api.lcd), and nothing else.
        "anyOf": [{"pattern": f"^{HEX_COLOUR.pattern}$"}, {"enum": sorted(COLOUR_NAMES)}],
        "description": f'A colour name (CSS/X11, e.g. "red") or "#rrggbb"; {default} when left out.',
    }


LCD_SCHEMAS = {
    "LcdMessage": json_object(
        {
            "message": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_MESSAGE_CHARACTERS,
                "description": "The text; words wrap, line breaks are kept, control characters dropped. "
                "It must hold something visible.",
            },
            "color": _colour("white"),
            "background": _colour("black"),
            "duration_seconds": {
                "type": "number",
                "nullable": True,
                "minimum": MIN_DURATION_SECONDS,
                "maximum": MAX_DURATION_SECONDS,
                "description": "Seconds the message stays; then the readings come back (or the start-up "
                "screen, with ENVIRO_LCD_MODE=messages). Left out or null: it stays until the next message.",
            },
        },
        ["message"],
    ),
    "LcdDrawn": result(
        json_object(
            {
                "lines": {"type": "array", "items": {"type": "string"}, "description": "The lines drawn."},
                "font": {"type": "string", "description": "The main font's name."},
                "font_size": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "Pixels; the largest that fits.",
                },
                "truncated": {
                    "type": "boolean",
                    "description": 'True when the text did not fit (ends in "…").',
                },
                "replaced_characters": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Characters no font has, drawn as U+FFFD.",
                },
                "duration_seconds": {
                    "type": "number",
                    "description": "Seconds the message stays, as asked; absent: until the next message.",
                },
            },
            ["lines", "font", "font_size", "truncated", "replaced_characters"],
        )
    ),
}

LCD_REQUEST = {
    "required": True,
    "description": "JSON, or the message itself as text/plain (UTF-8). curl's default form type "
    "(`curl -d '{...}'`) is read as JSON too.",
    "content": {
        "application/json": {
            "schema": ref("schemas", "LcdMessage"),
            "examples": {
                "plain": {"summary": "A message", "value": {"message": "Back at 3 pm"}},
                "coloured": {
                    "summary": "With colours",
                    "value": {"message": "Alert", "color": "red", "background": "#ffff00"},
                },
                "for a while": {
                    "summary": "For a minute, then the readings again",
                    "value": {"message": "Pizza in 10 min", "duration_seconds": 60},
                },
            },
        },
        "text/plain": {
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_MESSAGE_CHARACTERS},
            "example": "Back at 3 pm",
        },
    },
}

LCD_DRAWN_EXAMPLE = {
    "result": {
        "lines": ["Back at 3", "pm"],
        "font": "Noto Sans",
        "font_size": 31,
        "truncated": False,
        "replaced_characters": 0,
    }
}


# -- the service ---------------------------------------------------------------


_OUTPUT = json_object(
    {
        "up": {"type": "boolean", "description": "Delivering: not failing, not stuck."},
        "connected": {"type": "boolean", "description": "Able to reach its destination now."},
        "queued": {"type": "integer", "minimum": 0, "description": "Records waiting in its queue."},
        "sent": {
            "type": "integer",
            "minimum": 0,
            "description": "Records the destination acknowledged (not those only batched or buffered).",
        },
        "buffered": {
            "type": "integer",
            "minimum": 0,
            "description": "Records held for the destination, in memory or on disk, not yet acknowledged.",
        },
        "dropped": {
            "type": "object",
            "additionalProperties": {"type": "integer", "minimum": 0},
            "description": "Records given up on, by reason (queue_full, error, shutdown; buffer_full, refused).",
        },
        "errors": {
            "type": "integer",
            "minimum": 0,
            "description": "Failed attempts since start (an outage logs one line; these count the rest).",
        },
        "last_sent": {
            "type": "string",
            "format": "date-time",
            "description": "When it last delivered a record (UTC); absent before the first.",
        },
        "last_error": {
            "type": "string",
            "description": "Its last error, in the destination's words where it gave some; kept after it recovers (`up` says whether it has).",
        },
        "last_error_at": {
            "type": "string",
            "format": "date-time",
            "description": "When the last error happened (UTC); absent before the first.",
        },
    },
    ["up", "connected", "queued", "sent", "buffered", "dropped", "errors"],
)


def _service_schemas() -> dict[str, Any]:
    link = {"type": "string", "description": "A path on this server."}
    links = ["sensors", "metrics", "health", "docs", "lcd"]
    return {
        "Banner": result(
            json_object(
                {
                    "service": {"type": "string", "enum": [SERVICE]},
                    "version": {"type": "string", "example": VERSION},
                    "board": {"type": "string", "enum": ["real", "virtual"]},
                    "links": json_object(dict.fromkeys(links, link), links),
                },
                ["service", "version", "board", "links"],
            )
        ),
        "Health": result(json_object({"status": {"type": "string", "enum": ["ok"]}}, ["status"])),
        "Outputs": result(
            json_object({"outputs": {"type": "object", "additionalProperties": _OUTPUT}}, ["outputs"])
        ),
    }


EXPOSITION_EXAMPLE = """\
# HELP enviro_temperature_celsius Air temperature as the sensor reads it. Sampled in the background (weather every 2 s, i2c every 5 s) and served from cache; absent when stale.
# TYPE enviro_temperature_celsius gauge
enviro_temperature_celsius{sensor="bme280"} 27.9
"""


def _service_responses() -> dict[str, Any]:
    return {
        "Banner": {
            "description": "The service, its version, its board and links; a browser asking for HTML "
            "gets a small live dashboard instead.",
            "content": {
                "application/json": {
                    "schema": ref("schemas", "Banner"),
                    "example": {
                        "result": {
                            "service": SERVICE,
                            "version": VERSION,
                            "board": "virtual",
                            "links": {
                                "sensors": "/api/sensors",
                                "metrics": "/metrics",
                                "health": "/healthz",
                                "docs": DOCS_ROUTE,
                                "lcd": "/api/lcd",
                            },
                        }
                    },
                },
                "text/html": {"schema": {"type": "string"}},
            },
        },
        "Health": json_response("The service works.", ref("schemas", "Health"), {"result": {"status": "ok"}}),
        "Metrics": {
            "description": "Prometheus exposition: text 0.0.4, or OpenMetrics when the Accept header asks.",
            "content": {
                "text/plain": {"schema": {"type": "string"}, "example": EXPOSITION_EXAMPLE},
                "application/openmetrics-text": {"schema": {"type": "string"}},
            },
        },
        "LcdFrame": {
            "description": "What the LCD shows now, 160x80 pixels.",
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
        },
        "LcdDrawn": json_response("What was drawn.", ref("schemas", "LcdDrawn"), LCD_DRAWN_EXAMPLE),
        "Outputs": json_response(
            "Each output's health.",
            ref("schemas", "Outputs"),
            {
                "result": {
                    "outputs": {
                        "http": {
                            "up": True,
                            "connected": True,
                            "queued": 0,
                            "sent": 1520,
                            "buffered": 0,
                            "dropped": {"queue_full": 0, "error": 0, "shutdown": 0},
                            "errors": 0,
                            "last_sent": "2026-01-15T08:30:00.123Z",
                        },
                        "influxdb": {
                            "up": False,
                            "connected": False,
                            "queued": 0,
                            "sent": 1200,
                            "buffered": 320,
                            "dropped": {
                                "queue_full": 0,
                                "error": 0,
                                "shutdown": 0,
                                "buffer_full": 0,
                                "refused": 0,
                            },
                            "errors": 4,
                            "last_sent": "2026-01-15T08:20:00.045Z",
                            "last_error": (
                                "InfluxDB at http://influx.lan:8086 answered HTTP 404: "
                                'database not found: "enviro"'
                            ),
                            "last_error_at": "2026-01-15T08:30:00.456Z",
                        },
                    }
                }
            },
        ),
    }


def build_template(groups: list[GroupConfig], devices: list[Device] | None = None) -> dict[str, Any]:
    """Everything in the spec but the operations, which come from the routes' docstrings."""
    nodes = node_components(devices or [], error_response)
    responses = {
        **sensor_responses(groups),
        **_service_responses(),
        **ERROR_RESPONSES,
        **HISTORY_RESPONSES,
        **nodes["responses"],
    }
    return {
        "info": {"title": f"{SERVICE} API", "version": VERSION, "description": DESCRIPTION},
        "tags": TAGS,
        "components": {
            "schemas": {
                **sensor_schemas(groups),
                **LCD_SCHEMAS,
                **_service_schemas(),
                **HISTORY_SCHEMAS,
                **nodes["schemas"],
            },
            "responses": responses,
            "requestBodies": {"LcdMessage": LCD_REQUEST, **nodes["requestBodies"]},
            "parameters": {
                **sensor_parameters(groups),
                **history_parameters(groups, remote_series(devices or [])),
                **nodes["parameters"],
            },
            "securitySchemes": {
                "apiToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Needed for POST /api/lcd and the pause/resume posts, only when "
                    "ENVIRO_API_TOKEN is set.",
                },
                "nodeKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A remote node's own key from ENVIRO_NODES_FILE (hex or base64), for "
                    "POST /api/nodes/<node>/readings.",
                },
            },
        },
    }


def _summary_text(text: str | None) -> str | None:
    # Docstring lines as written; Swagger UI renders them as Markdown.
    return text.strip() if text else text


class _LazyDocs:
    """The docs page and the spec, with flasgger imported by the first request of either."""

    def __init__(
        self, app: Flask, config: dict[str, Any], template: Callable[[], dict[str, Any]], token_set: bool
    ) -> None:
        self.app = app
        self.config = config
        self._template = template
        self._token_set = token_set
        self._views: dict[str, Callable[[], ResponseReturnValue]] = {}
        self._lock = threading.Lock()

    def blueprint(self) -> Blueprint:
        """flasgger's blueprint as it would register it: same name, endpoints, URLs and templates."""
        # flasgger's own templates (the page's index.html) are in its package
        # folder, found without importing the package.
        spec = importlib.util.find_spec("flasgger")
        assert spec is not None and spec.submodule_search_locations, "flasgger is not installed"
        blueprint = Blueprint(
            "flasgger",
            __name__,
            root_path=str(Path(spec.submodule_search_locations[0])),
            template_folder="ui3/templates",
            static_folder=self.config["static_folder"],
            static_url_path=self.config["static_url_path"],
        )
        blueprint.add_url_rule(self.config["specs_route"], "apidocs", self._view("apidocs"))
        blueprint.add_url_rule(self.config["oauth_redirect"], "oauth_redirect", self._view("oauth_redirect"))
        # flasgger's redirect from its old address of the page (its endpoint named as flasgger's is).
        blueprint.add_url_rule(
            "/apidocs/index.html", "<lambda>", lambda: redirect(url_for("flasgger.apidocs"))
        )
        for spec_config in self.config["specs"]:
            blueprint.add_url_rule(
                spec_config["route"], spec_config["endpoint"], self._view(spec_config["endpoint"])
            )
        return blueprint

    def _view(self, endpoint: str) -> Callable[[], ResponseReturnValue]:
        def view() -> ResponseReturnValue:
            return self._flasgger_views()[endpoint]()

        view.__name__ = endpoint
        return view

    def _flasgger_views(self) -> dict[str, Callable[[], ResponseReturnValue]]:
        with self._lock:
            if not self._views:
                self._views = self._build()
            return self._views

    def _build(self) -> dict[str, Callable[[], ResponseReturnValue]]:
        from flasgger.base import APIDocsView, APISpecsView, OAuthRedirect, Swagger

        # Not init_app: the routes are registered already. What init_app
        # would do that the spec needs is done here.
        swagger = Swagger(config=self.config, template=self._template(), sanitizer=_summary_text)
        swagger.app = self.app
        swagger.load_config(self.app)
        views: dict[str, Callable[[], ResponseReturnValue]] = {
            "apidocs": APIDocsView.as_view("apidocs", view_args={"config": swagger.config}),
            "oauth_redirect": OAuthRedirect.as_view("oauth_redirect"),
        }
        for spec_config in self.config["specs"]:
            endpoint = spec_config["endpoint"]
            swagger.endpoints.append(endpoint)
            loader = functools.partial(self._spec, swagger, endpoint, self._token_set)
            views[endpoint] = APISpecsView.as_view(endpoint, loader=loader)
        return views

    @staticmethod
    def _spec(swagger: Swagger, endpoint: str, token_set: bool) -> dict[str, Any]:
        spec = with_token_security(swagger.get_apispecs(endpoint), token_set)
        # A path, no host: the prefix a trusted proxy reported ("/enviro"), else
        # the root. Swagger UI puts the page's own host in front of it.
        return {**spec, "servers": [{"url": request.script_root or "/"}]}


def with_token_security(spec: dict[str, Any], token_set: bool) -> dict[str, Any]:
    """The operations that take ENVIRO_API_TOKEN as this service runs them: the token required
    when one is set, and no security at all (no lock in Swagger UI) when none is."""
    paths: dict[str, dict[str, Any]] = {}
    for path, operations in spec.get("paths", {}).items():
        paths[path] = {}
        for method, operation in operations.items():
            security = operation.get("security") if isinstance(operation, dict) else None
            if security and any(TOKEN_SCHEME in entry for entry in security):
                operation = {key: value for key, value in operation.items() if key != "security"}
                if token_set:
                    operation["security"] = [{TOKEN_SCHEME: []}]
                else:
                    # 401 cannot happen without a token.
                    responses = {k: v for k, v in operation.get("responses", {}).items() if str(k) != "401"}
                    operation["responses"] = responses
            paths[path][method] = operation
    components = dict(spec.get("components", {}))
    if not token_set:
        schemes = {k: v for k, v in components.get("securitySchemes", {}).items() if k != TOKEN_SCHEME}
        components["securitySchemes"] = schemes
    return {**spec, "paths": paths, "components": components}


def init_docs(app: Flask, service: Any) -> None:
    """Serve the spec at SPEC_ROUTE and Swagger UI at DOCS_ROUTE (flasgger imported on first use)."""
    config = {
        "openapi": OPENAPI_VERSION,
        "title": f"{SERVICE} API",
        "headers": [],
        "specs": [{"endpoint": "apispec", "route": SPEC_ROUTE}],
        "specs_route": DOCS_ROUTE,
        "static_url_path": f"{DOCS_ROUTE}/static",
        # swagger-ui's dist files, in place of flasgger's old build.
        "static_folder": str(swagger_ui_path),
        "oauth_redirect": f"{DOCS_ROUTE}/oauth2-redirect.html",
        "swagger_ui": True,
        "uiversion": 3,
        # Read by enviro_sensor/web/templates/flasgger/swagger.html, which sets Swagger UI up
        # itself: no top bar (it offers to load other specs by URL), no
        # generated operation ids (they would only repeat the path).
        "doc_expansion": "list",
    }
    groups, devices = service.groups, list(service.nodes.devices.values())
    docs = _LazyDocs(
        app, config, lambda: build_template(groups, devices), service.settings.api_token is not None
    )
    app.register_blueprint(docs.blueprint())
