"""gunicorn settings for enviro-sensor: ``gunicorn -c gunicorn.conf.py app:app``.

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
"""

import sys

import allocator
import hardware
from http_worker import RequestBufferingWorker
from settings import SettingsError, load_settings

try:
    _settings = load_settings()
    hardware.check_settings(_settings)
except (SettingsError, ValueError) as err:
    # One line naming the setting, then stop: no traceback for a typo.
    print(f"enviro-sensor: {err}", file=sys.stderr)
    sys.exit(2)

_host = _settings.host
bind = [f"[{_host}]:{_settings.port}" if ":" in _host else f"{_host}:{_settings.port}"]
workers = 1
worker_class = RequestBufferingWorker.configured(
    request_timeout=_settings.request_timeout, max_body_bytes=_settings.max_body_bytes
)
threads = _settings.threads
# Connections held at once, most of them idle or still sending; past this the
# one that has waited longest is closed to make room. Each holds at most one
# head (32 KiB) and body (ENVIRO_MAX_BODY_BYTES) in memory while it sends.
worker_connections = 1000
accesslog = "-"
errorlog = "-"
loglevel = _settings.log_level
# SIGTERM (systemd, podman stop) lets requests in flight finish, for half of
# this at most; then worker_exit stops the sensors and switches the LCD
# backlight off, well before the master would kill the worker.
graceful_timeout = 10
# The worker's heartbeat: its event loop beats every fraction of a second, so
# this only fires when the process itself is stuck.
timeout = 30
# gunicorn's control socket (for gunicornc) would be created under $HOME,
# which a container or a hardened unit keeps read-only; nothing here uses it.
control_socket_disable = True
# The access log shows the client, request, status and time in microseconds.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(D)sus'


def _service(worker):
    """The enviro-sensor service of the worker's app, if it has one."""
    return getattr(getattr(worker, "wsgi", None), "extensions", {}).get("enviro")


def post_fork(server, worker):
    """In the new worker, before it loads the app or starts a thread."""
    allocator.limit_arenas()


def post_worker_init(worker):
    """Start the board, collector and LCD once, in the serving worker."""
    service = _service(worker)
    if service is not None:
        service.start()


def worker_exit(server, worker):
    """Stop background work and release the hardware."""
    service = _service(worker)
    if service is not None:
        service.stop()
