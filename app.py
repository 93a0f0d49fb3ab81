"""The enviro-sensor web application.

``create_app`` builds an app from ``ENVIRO_*`` settings; the module-level
``app`` is what ``gunicorn app:app`` serves. Background work starts in the
gunicorn worker (see gunicorn.conf.py), not here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, g, request
from prometheus_client import CollectorRegistry
from werkzeug.middleware.proxy_fix import ProxyFix

from api import cross_site, errors, lcd, metrics, openapi, protocol, root, sensors
from service import Service
from settings import load_settings

# Keys of ``config`` that are objects to use rather than settings.
_INJECTED = ("registry", "hardware", "start")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app.

    ``config`` overrides settings by field name (``{"board": "virtual"}``) and
    may pass ``registry`` (a CollectorRegistry), ``hardware`` (a Board) and
    ``start`` (True to start background work now, as tests that need it do).
    """
    config = dict(config or {})
    injected = {key: config.pop(key) for key in _INJECTED if key in config}
    settings = load_settings(overrides=config)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    registry = injected.get("registry") or CollectorRegistry(auto_describe=True)
    service = Service(settings, registry, board=injected.get("hardware"))
    app.extensions["enviro"] = service

    errors.register_error_handlers(app)
    protocol.init_app(app)
    cross_site.init_app(app)
    for module in (root, sensors, lcd, metrics):
        app.register_blueprint(module.blueprint)
    openapi.init_docs(app, service)
    _time_requests(app, service)
    if settings.trust_proxy:
        # Behind a proxy that maps /enviro/ to us, links, the docs page and
        # its spec must carry the prefix: ProxyFix takes it (and the client's
        # address, scheme and host) from the X-Forwarded-* headers of that
        # many proxies. Untrusted, those headers are ignored: anyone could send them.
        n = settings.trust_proxy
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_prefix=n)

    if injected.get("start"):
        service.start()
    return app


def _time_requests(app: Flask, service: Service) -> None:
    """Observe every answered request in the duration histogram."""

    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response):
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
