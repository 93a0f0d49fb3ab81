"""The service under gunicorn: ``enviro-sensor serve``.

One worker, many threads. The worker owns the hardware: the collector polls
the I2C bus, the serial port and the LCD from that one process. Several
workers would mean several pollers fighting over one I2C bus, several LCD
writers, and prometheus_client's multiprocess mode, which forbids the custom
collectors and label removal the sensor metrics rely on. Scale with threads;
the handlers only read an in-memory cache.

The worker is gunicorn's threaded worker with one change, in
``http_worker.RequestBufferingWorker``: its event loop reads each request
whole before a thread takes it, and closes a connection that has not sent a
whole request within ENVIRO_REQUEST_TIMEOUT seconds. Stock ``gthread`` gives
a thread to a connection at its first byte and then waits on the client
with no deadline, so four clients sending a byte every few seconds stop
every route, ``/healthz`` included. The other ways out were worse here:
``gevent``/``eventlet`` monkeypatch threading, and the collector relies on
real OS threads to abandon a hung driver call (a greenlet blocked in a C
driver blocks the whole process); ``sync`` has one request at a time;
gunicorn's ``asgi`` worker would mean leaving Flask's WSGI.

The app is built in the worker (``load``), never in the master and never at
import: the master reads the server's own settings, binds the socket and
watches. Every page the master holds is held for the service's life, and the
worker writes to most of what it inherits (reference counts, the garbage
collector's links), so each module the master imports for nothing costs
twice; the master therefore imports gunicorn, this module and the worker
class, nothing of the sensors, outputs or nodes (``enviro-sensor serve``
checks every other setting in a child process first, ``cli.serve``).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from gunicorn.app.base import BaseApplication

from enviro_sensor.config.declarations import read
from enviro_sensor.config.server import SETTINGS as SERVER
from enviro_sensor.config.server import ServerOptions
from enviro_sensor.web import allocator
from enviro_sensor.web.http_worker import RequestBufferingWorker

# Connections held at once, most of them idle or still sending; past this the
# one that has waited longest is closed to make room. Each holds at most one
# head (32 KiB) and body (ENVIRO_MAX_BODY_BYTES) in memory while it sends.
WORKER_CONNECTIONS = 1000
# SIGTERM (systemd, podman stop) lets requests in flight finish, for half of
# this at most; then worker_exit stops the sensors and switches the LCD
# backlight off, well before the master would kill the worker.
GRACEFUL_TIMEOUT = 10
# The worker's heartbeat: its event loop beats every fraction of a second, so
# this only fires when the process itself is stuck.
HEARTBEAT_TIMEOUT = 30
# The access log shows the client, request, status and time in microseconds.
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(D)sus'


def configure_logging(level: str) -> None:
    """The product's log lines beside gunicorn's, at the level ENVIRO_LOG_LEVEL names."""
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level.upper())


def bind_address(host: str, port: int) -> str:
    """gunicorn's ``bind`` for a host (IPv6 in brackets) and port."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def server_options(environ: Mapping[str, str] | None = None) -> ServerOptions:
    """The HTTP side's settings alone (``ENVIRO_HOST``, ``ENVIRO_PORT``, ...), from ``environ``."""
    return read([SERVER], environ).of(SERVER)


def _service(worker: Any) -> Any:
    """The enviro-sensor service of the worker's app, if it has one."""
    return getattr(getattr(worker, "wsgi", None), "extensions", {}).get("enviro")


def pre_fork(server: Any, worker: Any) -> None:
    """In the master, just before the worker is forked."""
    # The objects the worker inherits are left out of its garbage collector's
    # passes, which would otherwise write to (and so copy) every page of them.
    gc.freeze()


def post_fork(server: Any, worker: Any) -> None:
    """In the new worker, before it loads the app or starts a thread."""
    allocator.limit_arenas()
    allocator.keep_large_blocks_apart()


def post_worker_init(worker: Any) -> None:
    """Start the board, collector and LCD once, in the serving worker."""
    service = _service(worker)
    if service is not None:
        service.start()


def worker_exit(server: Any, worker: Any) -> None:
    """Stop background work and release the hardware."""
    service = _service(worker)
    if service is not None:
        service.stop()


def gunicorn_options(server: ServerOptions) -> dict[str, Any]:
    """gunicorn's configuration for the HTTP side's settings."""
    return {
        "bind": [bind_address(server.host, server.port)],
        "workers": 1,
        "worker_class": RequestBufferingWorker.configured(
            request_timeout=server.request_timeout, max_body_bytes=server.max_body_bytes
        ),
        "threads": server.threads,
        "worker_connections": WORKER_CONNECTIONS,
        "accesslog": "-",
        "errorlog": "-",
        "loglevel": server.log_level,
        "graceful_timeout": GRACEFUL_TIMEOUT,
        "timeout": HEARTBEAT_TIMEOUT,
        # gunicorn's control socket (for gunicornc) would be created under
        # $HOME, which a container or a hardened unit keeps read-only.
        "control_socket_disable": True,
        "access_log_format": ACCESS_LOG_FORMAT,
        "proc_name": "enviro-sensor",
        "pre_fork": pre_fork,
        "post_fork": post_fork,
        "post_worker_init": post_worker_init,
        "worker_exit": worker_exit,
    }


class ServiceApplication(BaseApplication):
    """gunicorn running the service; ``gunicorn_args`` are gunicorn's own options over ours.

    ``server`` is the HTTP side's settings (read from the environment when
    not given); the worker reads every setting again from the same
    environment when it builds the app.
    """

    def __init__(self, server: ServerOptions | None = None, gunicorn_args: Sequence[str] = ()) -> None:
        self.server = server if server is not None else server_options()
        self.gunicorn_args = list(gunicorn_args)
        super().__init__()

    def load_config(self) -> None:
        for key, value in gunicorn_options(self.server).items():
            self.cfg.set(key, value)
        if self.gunicorn_args:
            # The gunicorn command's own parser, so its options mean what they say there.
            parsed = self.cfg.parser().parse_args(self.gunicorn_args)
            if parsed.args:
                raise SystemExit(f"enviro-sensor serve: unexpected arguments: {' '.join(parsed.args)}")
            for key, value in vars(parsed).items():
                if value is not None and key != "args" and key.lower() in self.cfg.settings:
                    self.cfg.set(key.lower(), value)

    def load(self) -> Any:
        """Build the app in the worker, after the fork."""
        from enviro_sensor.web.app import create_app

        configure_logging(self.server.log_level)
        return create_app()


def serve(gunicorn_args: Sequence[str] = ()) -> None:
    """Run the service in the foreground until gunicorn is told to stop."""
    ServiceApplication(gunicorn_args=gunicorn_args).run()
