"""The enviro-sensor web application.

``create_app`` builds an app from ``ENVIRO_*`` settings; the module-level
``app`` is what ``gunicorn app:app`` serves. Background work starts in the
gunicorn worker (see gunicorn.conf.py), not here.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry
from werkzeug.middleware.proxy_fix import ProxyFix

import hardware
from api import cross_site, errors, history, lcd, metrics, nodes, openapi, pause, protocol, root, sensors
from api import outputs as output_routes
from clocks import Clock
from hardware.board import Board
from outputs.base import Output
from service import Service
from settings import Settings, SettingsError, load_settings


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
    try:
        hardware.check_settings(settings)
    except ValueError as err:  # its message names the setting
        raise SettingsError(str(err)) from None

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
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
    if settings.trust_proxy:
        # Behind a proxy that maps /enviro/ to us, links, the docs page and
        # its spec must carry the prefix: ProxyFix takes it (and the client's
        # address, scheme and host) from the X-Forwarded-* headers of that
        # many proxies. Untrusted, those headers are ignored: anyone could send them.
        n = settings.trust_proxy
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


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")


_configure_logging()
app = create_app()
logging.getLogger().setLevel(app.extensions["enviro"].settings.log_level.upper())
