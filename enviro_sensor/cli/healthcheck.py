"""Exit 0 when the local service answers ``/healthz`` with 200, 1 otherwise.

The container's HEALTHCHECK and the Quadlet unit's HealthCmd run it inside
the container (``enviro-sensor healthcheck``), so the image needs no curl. It
reads the same ENVIRO_HOST and ENVIRO_PORT settings gunicorn binds with, and
only the server's settings: podman runs it every 30 s, and the sensor kinds'
table is no business of a health check.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from enviro_sensor.config.declarations import SettingsError, read
from enviro_sensor.config.server import SETTINGS as SERVER

# A wildcard address is where gunicorn listens, not where to connect.
WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "[::]": "::1"}
TIMEOUT_SECONDS = 4


def healthz_url(host: str, port: int) -> str:
    host = WILDCARDS.get(host, host).strip("[]")
    return f"http://[{host}]:{port}/healthz" if ":" in host else f"http://{host}:{port}/healthz"


def main() -> int:
    try:
        server = read([SERVER]).of(SERVER)
    except SettingsError as err:
        print(f"unhealthy: {err}", file=sys.stderr)
        return 1
    url = healthz_url(server.host, server.port)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as err:
        status = err.code
    except OSError as err:  # refused, timed out, unreachable
        print(f"unhealthy: {url}: {err}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"unhealthy: {url} answered {status}", file=sys.stderr)
        return 1
    return 0
