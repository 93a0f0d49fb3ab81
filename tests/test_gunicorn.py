"""The real gunicorn, started by `enviro-sensor serve`, answers over HTTP."""

import signal

import pytest
import requests

from tests.servers import gunicorn_server

pytestmark = pytest.mark.e2e


def test_gunicorn_serves_the_routes_and_stops_gracefully():
    with gunicorn_server() as (base, process):
        banner = requests.get(base + "/", timeout=5)
        assert banner.status_code == 200
        assert banner.json()["result"]["board"] == "virtual"
        assert requests.get(base + "/healthz", timeout=5).json() == {"result": {"status": "ok"}}
        metrics = requests.get(base + "/metrics", timeout=5)
        assert "enviro_build_info" in metrics.text
        missing = requests.get(base + "/nope", timeout=5)
        assert missing.status_code == 404
        assert missing.headers["Content-Type"] == "application/json"
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    # The access log goes to stdout, one line per request.
    assert '"GET /healthz HTTP/1.1" 200' in output
    assert "service stopped" in output
