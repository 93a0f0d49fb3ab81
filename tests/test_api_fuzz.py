"""schemathesis against the spec a live gunicorn serves: generated requests for every operation.

It checks that no request gets a server error, that every answer's status,
content type, headers and body are the documented ones, that invalid
requests are refused and valid ones served. The CLI is used: its pytest
integration does not load a spec from a fixture with this pytest.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.openapi_support import spec_operations
from tests.servers import gunicorn_server

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")
# Short intervals and no gas warm-up: every group has a reading, so any 503
# from a sensor route would be a fault worth reporting.
ENV = {
    "ENVIRO_WEATHER_INTERVAL": "0.2",
    "ENVIRO_GAS_INTERVAL": "0.2",
    "ENVIRO_I2C_INTERVAL": "0.2",
    "ENVIRO_GAS_WARMUP": "0",
}
READY_ROUTES = [
    "/api/sensors/weather",
    "/api/sensors/gas",
    "/api/sensors/pollution",
    "/api/sensors/i2c",
    "/api/lcd",
]
# Per operation and phase: a few seconds in all, yet hundreds of requests.
MAX_EXAMPLES = 50


def _wait_until_ready(base: str, deadline_seconds: float = 30) -> None:
    """Every sensor group has a reading and the LCD has opened."""
    deadline = time.monotonic() + deadline_seconds
    while any(requests.get(base + route, timeout=5).status_code != 200 for route in READY_ROUTES):
        assert time.monotonic() < deadline, f"not ready within {deadline_seconds} s"
        time.sleep(0.2)


# The operations in parts, each fuzzed against a service of its own, so that
# the parts run in parallel; every operation is in exactly one part (checked
# below, and by each part's count).
PARTS = {
    "history": r"^/api/history",
    "sensors-and-nodes": r"^/api/(sensors|nodes)",
    "the-rest": r"^/(?!api/(history|sensors|nodes))",
}


def test_the_parts_hold_every_operation_once(client):
    paths = {path for _method, path in spec_operations(client.get("/apispec.json").get_json())}
    assert paths
    for path in paths:
        assert sum(bool(re.search(pattern, path)) for pattern in PARTS.values()) == 1, path


@pytest.mark.e2e
@pytest.mark.parametrize("part", PARTS)
def test_every_operation_holds_to_the_spec_under_generated_requests(tmp_path, part):
    pattern = PARTS[part]
    # With a history, so its routes answer rather than say it is off.
    environment = {**ENV, "ENVIRO_DATA_DIR": str(tmp_path / "data")}
    with gunicorn_server(environment, log=tmp_path / "gunicorn.log") as (base, _):
        _wait_until_ready(base)
        every = spec_operations(requests.get(base + "/apispec.json", timeout=5).json())
        selected = sum(bool(re.search(pattern, path)) for _method, path in every)
        assert selected
        result = subprocess.run(
            [
                str(SCHEMATHESIS),
                "--config-file",
                str(CONFIG),
                "--no-color",
                "run",
                base + "/apispec.json",
                "--url",
                base,
                "--include-path-regex",
                pattern,
                "--max-examples",
                str(MAX_EXAMPLES),
            ],
            cwd=tmp_path,  # its reports and caches stay out of the work tree
            capture_output=True,
            text=True,
            timeout=300,
        )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report[-20000:]
    assert re.search(rf"Selected: {selected}/{len(every)}\b", report), report[-3000:]
    assert re.search(rf"Tested: {selected}\b", report), report[-3000:]
