"""What the running service imports: a client library only when its output is on.

Every module imported stays in the worker's memory for its life; the
registries import every output module to ask whether it is on, so a module
that imported its client at the top would cost every service (requests
with urllib3 about 5 MB, paho 1 MB) whether it sends anything or not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = ("requests", "urllib3", "paho")


def modules_after_building_the_app(tmp_path: Path, **settings: str) -> set[str]:
    """The modules a fresh interpreter holds once ``app`` is imported with ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVIRO_")}
    env.update({"ENVIRO_BOARD": "virtual", "ENVIRO_DATA_DIR": str(tmp_path), **settings})
    done = subprocess.run(
        [sys.executable, "-c", "import json, sys, app; print(json.dumps(sorted(sys.modules)))"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_default_service_imports_no_network_client(tmp_path):
    modules = modules_after_building_the_app(tmp_path)
    assert not [name for name in CLIENTS if name in modules]


def test_outputs_that_are_on_import_their_clients(tmp_path):
    modules = modules_after_building_the_app(
        tmp_path,
        ENVIRO_MQTT_URL="mqtt://127.0.0.1:1",
        ENVIRO_INFLUX_URL="http://127.0.0.1:1",
        ENVIRO_INFLUX_DB="enviro",
    )
    assert "paho" in modules
    assert "requests" in modules
