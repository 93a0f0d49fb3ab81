"""gunicorn settings for enviro-sensor: ``gunicorn -c gunicorn.conf.py app:app``.

One worker, many threads. The worker owns the hardware: the collector polls
the I2C bus, the serial port and the LCD from that one process. Several
workers would mean several pollers fighting over one I2C bus, several LCD
writers, and prometheus_client's multiprocess mode, which forbids the custom
collectors and label removal the sensor metrics rely on. Scale with threads;
the handlers only read an in-memory cache.
"""

import sys

import hardware
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
worker_class = "gthread"
threads = _settings.threads
accesslog = "-"
errorlog = "-"
loglevel = _settings.log_level
# SIGTERM (systemd, podman stop) lets requests in flight finish; the sensors
# are stopped and the LCD backlight switched off in worker_exit.
graceful_timeout = 10
# No request waits on hardware, so a slow one is a stuck client.
timeout = 30
# gunicorn's control socket (for gunicornc) would be created under $HOME,
# which a container or a hardened unit keeps read-only; nothing here uses it.
control_socket_disable = True
# The access log shows the client, request, status and time in microseconds.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(D)sus'


def _service(worker):
    """The enviro-sensor service of the worker's app, if it has one."""
    return getattr(getattr(worker, "wsgi", None), "extensions", {}).get("enviro")


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
