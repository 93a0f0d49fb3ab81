"""The enviro-sensor web application.

``create_app`` builds an app from ``ENVIRO_*`` settings; nothing is built at
import. ``enviro-sensor serve`` builds one in gunicorn's worker and starts
its background work there (``web.server``); ``gunicorn
'enviro_sensor.web.app:create_app()'`` serves one too, without the worker
and hooks the command adds.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry
from werkzeug.middleware.proxy_fix import ProxyFix

from enviro_sensor.clocks import Clock
from enviro_sensor.hardware.board import Board
from enviro_sensor.outputs.base import Output
from enviro_sensor.service import Service
from enviro_sensor.settings import SERVER, Settings, load_settings
from enviro_sensor.web import (
    cross_site,
    errors,
    history,
    lcd,
    metrics,
    nodes,
    openapi,
    pause,
    protocol,
    root,
    sensors,
)
from enviro_sensor.web import outputs as output_routes


def create_app(
    settings: Settings | None = None,
    *,
    registry: CollectorRegistry | None = None,
    board: Board | None = None,
    clock: Clock | None = None,
    outputs: list[Output] | None = None,
    start: bool = False,
) -> Flask:
    """Build the app from ``settings`` (default: the ``ENVIRO_*`` environment).

    ``registry`` is the app's private CollectorRegistry (a new one when not
    given), ``board`` a board to use instead of opening one, ``clock`` the
    time the service runs on, ``outputs`` extra outputs beside the built-in
    ones, and ``start`` starts background work now (as some tests want).
    """
    settings = settings if settings is not None else load_settings()
    server = settings.of(SERVER)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = server.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
    service = Service(settings, registry, board, clock=clock, outputs=outputs)
    app.extensions["enviro"] = service

    errors.register_error_handlers(app)
    protocol.init_app(app)
    cross_site.init_app(app)
    blueprints = (
        root.blueprint,
        sensors.make_blueprint(service.groups),
        pause.make_blueprint(service.groups),
        history.blueprint,
        output_routes.blueprint,
        nodes.blueprint,
        lcd.blueprint,
        metrics.blueprint,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    openapi.init_docs(app, service)
    _time_requests(app, service)
    if server.trust_proxy:
        # Behind a proxy that maps /enviro/ to us, links, the docs page and
        # its spec must carry the prefix: ProxyFix takes it (and the client's
        # address, scheme and host) from the X-Forwarded-* headers of that
        # many proxies. Untrusted, those headers are ignored: anyone could send them.
        n = server.trust_proxy
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_prefix=n
        )

    if start:
        service.start()
    return app


def _time_requests(app: Flask, service: Service) -> None:
    """Observe every answered request in the duration histogram."""

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.get("request_started")
        if started is not None:
            # The route template keeps label values few; unmatched paths share one.
            route = request.url_rule.rule if request.url_rule else "unmatched"
            service.metrics.observe_request(
                route, request.method, response.status_code, time.perf_counter() - started
            )
        return response
