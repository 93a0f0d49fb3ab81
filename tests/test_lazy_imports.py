"""What the running service imports: a client library only when its output is on,
a sensor's driver only in the process that opens the sensor.

Every module imported stays in the worker's memory for its life; the
registries import every output module to ask whether it is on, so a module
that imported its client at the top would cost every service (requests
with urllib3 about 5 MB, paho 1 MB) whether it sends anything or not.
gunicorn's master never opens a part, and the worker writes to most of the
pages it inherits: a module imported in the master is held for nothing and
counted again in the worker. So the master imports gunicorn and the worker
class, and checks every other setting (the table of sensor kinds, every
output module, the nodes' devices file) in a child that exits. asyncio (with the nodes' modules,
about 3 MB) comes only with remote nodes. The docs page and the spec import
flasgger (with jsonschema, PyYAML and mistune, about 5 MB) on their first
request, which most services never get.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = ("requests", "urllib3", "paho")
# The vendor drivers of the built-in kinds, the buses they use, and what the
# LCD's and the microphone's drivers bring.
DRIVERS = (
    "bme280",
    "bme680",
    "ltr559",
    "ads1015",
    "pms5003",
    "serial",
    "smbus2",
    "i2cdevice",
    "gpiod",
    "gpiodevice",
    "sensirion_i2c_driver",
    "sensirion_i2c_scd4x",
    "sensirion_i2c_sgp4x",
    "sensirion_gas_index_algorithm",
    "sensirion_driver_adapters",
    "st7735",
    "spidev",
    "enviroplus",
    "sounddevice",
    "numpy",
)
DOCS_LIBRARIES = ("flasgger", "jsonschema", "yaml", "mistune")
FIRST_SPEC_REQUEST = """
import json, sys
from enviro_sensor.web.app import create_app
app = create_app()
before = sorted(sys.modules)
reply = app.test_client().get("/apispec.json")
print(json.dumps({"before": before, "status": reply.status_code, "after": sorted(sys.modules)}))
"""
MASTER = """
import json, sys
from enviro_sensor.cli.serve import prepare
application = prepare([])  # what `enviro-sensor serve`'s master does before the fork
print(json.dumps({"modules": sorted(sys.modules), "ready": application is not None}))
"""
# What the master may hold of the product: the command, the settings'
# machinery, the HTTP side's own settings and the worker class.
MASTER_PRODUCT = {
    "enviro_sensor",
    "enviro_sensor.cli",
    "enviro_sensor.cli.serve",
    "enviro_sensor.config",
    "enviro_sensor.config.declarations",
    "enviro_sensor.config.parsers",
    "enviro_sensor.config.server",
    "enviro_sensor.web",
    "enviro_sensor.web.allocator",
    "enviro_sensor.web.http_framing",
    "enviro_sensor.web.http_worker",
    "enviro_sensor.web.server",
}
# Libraries only the worker uses.
WORKER_LIBRARIES = (
    "flask",
    "werkzeug",
    "jinja2",
    "prometheus_client",
    "PIL",
    "sqlite3",
    "tomllib",
    "asyncio",
)


def run_fresh(tmp_path: Path, code: str, **settings: str) -> Any:
    """What ``code`` printed last, as JSON, run in a fresh interpreter with ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVIRO_")}
    env.update({"ENVIRO_BOARD": "virtual", "ENVIRO_DATA_DIR": str(tmp_path), **settings})
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout.splitlines()[-1])


def modules_after_building_the_app(tmp_path: Path, **settings: str) -> set[str]:
    """The modules a fresh interpreter holds once ``app`` is imported with ``settings``."""
    return set(
        run_fresh(
            tmp_path,
            "import json, sys\n"
            "from enviro_sensor.web.app import create_app\n"
            "create_app()\n"
            "print(json.dumps(sorted(sys.modules)))",
            **settings,
        )
    )


def test_default_service_imports_no_network_client(tmp_path):
    modules = modules_after_building_the_app(tmp_path)
    assert not [name for name in CLIENTS if name in modules]


def test_the_lcds_driver_and_numpy_come_with_the_panel_not_the_app(tmp_path):
    # st7735 imports numpy (about 20 MiB): a service with the LCD off never opens
    # the panel, so it must not get them by building the app.
    modules = modules_after_building_the_app(tmp_path, ENVIRO_LCD="off", ENVIRO_GROUPS="weather,gas")
    assert "st7735" not in modules
    assert "numpy" not in modules


def test_a_service_without_remote_nodes_imports_no_asyncio(tmp_path):
    # The nodes' listener and the virtual nodes run on asyncio (building the app opens no port).
    assert "asyncio" not in modules_after_building_the_app(tmp_path)
    assert "asyncio" in modules_after_building_the_app(tmp_path, ENVIRO_NODES_PORT="8089")
    assert "asyncio" in modules_after_building_the_app(tmp_path, ENVIRO_VIRTUAL_NODES="1")


def test_outputs_that_are_on_import_their_clients(tmp_path):
    modules = modules_after_building_the_app(
        tmp_path,
        ENVIRO_MQTT_URL="mqtt://127.0.0.1:1",
        ENVIRO_INFLUX_URL="http://127.0.0.1:1",
        ENVIRO_INFLUX_DB="enviro",
    )
    assert "paho" in modules
    assert "requests" in modules


def test_gunicorns_master_imports_no_sensor_driver_and_no_part(tmp_path):
    loaded = run_fresh(tmp_path, MASTER, ENVIRO_I2C_SENSORS="scd41@0x62,sgp40@0x59", ENVIRO_VIRTUAL_NODES="3")
    assert loaded["ready"]
    modules = {name.split(".")[0] for name in loaded["modules"]}
    assert not [name for name in DRIVERS if name in modules]
    assert not [name for name in WORKER_LIBRARIES if name in modules]
    assert {name for name in loaded["modules"] if name.startswith("enviro_sensor")} <= MASTER_PRODUCT


def test_the_master_still_refuses_a_bad_setting_before_serving(tmp_path):
    # The check runs in a child: its one line reaches the terminal and the master stops.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVIRO_")}
    env.update(
        {"ENVIRO_BOARD": "virtual", "ENVIRO_DATA_DIR": str(tmp_path), "ENVIRO_I2C_SENSORS": "nope@0x99"}
    )
    done = subprocess.run(
        [sys.executable, "-c", MASTER], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert json.loads(done.stdout.splitlines()[-1])["ready"] is False
    assert "ENVIRO_I2C_SENSORS" in done.stderr


def test_the_docs_libraries_come_with_the_first_request_of_the_spec(tmp_path):
    loaded = run_fresh(tmp_path, FIRST_SPEC_REQUEST)
    assert not [name for name in DOCS_LIBRARIES if name in loaded["before"]]
    assert loaded["status"] == 200
    assert "flasgger" in loaded["after"]
