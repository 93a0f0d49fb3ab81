"""Prometheus and promtool (Debian's ``prometheus`` package) for the tests.

``prometheus_server`` runs a real Prometheus on a free loopback port with its
own storage directory and stops it by PID; ``PrometheusAPI`` reads its HTTP
API; ``wait_for`` polls with a deadline instead of sleeping a guessed time.
``exposed_metric_names`` is what a running service offers Prometheus, for
checking the names the rules and the dashboard use.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
import yaml

from tests.servers import ROOT, free_port, gunicorn_server, stop, wait_until_serving

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
DEPLOY = ROOT / "deploy" / "prometheus"
EXAMPLE_CONFIG = DEPLOY / "prometheus.yml"
RULES = DEPLOY / "rules" / "enviro.rules.yml"
RULE_TESTS = sorted((DEPLOY / "tests").glob("*.yml"))
DASHBOARD = ROOT / "deploy" / "grafana" / "enviro-sensor.json"

needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (Debian package: prometheus)"
)
needs_prometheus = pytest.mark.skipif(
    PROMETHEUS is None, reason="the prometheus server is not installed (Debian package: prometheus)"
)

T = TypeVar("T")


def promtool(*args: str | Path, cwd: Path = DEPLOY) -> subprocess.CompletedProcess:
    """Run promtool; the caller asserts on the return code and output."""
    return subprocess.run(
        [PROMTOOL, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def wait_for(
    fetch: Callable[[], T],
    what: str,
    until: Callable[[T], Any] = bool,
    deadline_seconds: float = 60,
    interval: float = 0.5,
) -> T:
    """Call ``fetch`` until ``until`` holds for its answer, and return that answer.

    After the deadline, fail showing the last answer: what was seen instead.
    """
    deadline = time.monotonic() + deadline_seconds
    while True:
        answer = fetch()
        if until(answer):
            return answer
        if time.monotonic() > deadline:
            seen = repr(answer)
            seen = seen if len(seen) <= 2000 else seen[:2000] + " ..."
            raise AssertionError(f"{what}: not seen within {deadline_seconds:g} s; last seen: {seen}")
        time.sleep(interval)


class PrometheusAPI:
    """The few calls of Prometheus' HTTP API (v1) the tests make."""

    def __init__(self, base: str) -> None:
        self.base = base

    def get(self, path: str, **params: str) -> Any:
        response = requests.get(self.base + path, params=params, timeout=10)
        body = response.json()
        if body.get("status") != "success":
            raise AssertionError(f"{path} {params}: {response.status_code} {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        """The instant vector ``expr`` gives now (a list of {metric, value})."""
        return self.get("/api/v1/query", query=expr)["result"]

    def targets(self) -> list[dict]:
        return self.get("/api/v1/targets")["activeTargets"]

    def alerts(self) -> list[dict]:
        return self.get("/api/v1/alerts")["alerts"]

    def rules(self) -> list[dict]:
        return [rule for group in self.get("/api/v1/rules")["groups"] for rule in group["rules"]]


@contextlib.contextmanager
def prometheus_server(config: dict, directory: Path) -> Iterator[PrometheusAPI]:
    """Run Prometheus with ``config`` on 127.0.0.1:<free port>; stop it on exit."""
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    port = free_port()
    log_path = directory / "prometheus.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            cwd=directory,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_serving(base + "/-/ready", process)
            wait_for(lambda: _ready(base), "Prometheus ready", deadline_seconds=30)
        except (RuntimeError, TimeoutError, AssertionError) as err:
            raise RuntimeError(f"{err}\n{log_path.read_text()}") from None
        yield PrometheusAPI(base)
    finally:
        stop(process)


def _ready(base: str) -> bool:
    # /-/ready answers 503 while the storage and rules are still loading.
    return requests.get(base + "/-/ready", timeout=2).status_code == 200


def rules_waiting(source: Path, destination: Path, wait: str) -> Path:
    """A copy of the rules file with every ``for`` set to ``wait``.

    The shipped rules wait minutes before firing, which a test cannot afford;
    the expressions, labels and annotations stay exactly as shipped.
    """
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    for group in document["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = wait
    destination.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return destination


# -- metric names -----------------------------------------------------------

# Series names a family of each type adds to its own name in the exposition.
_FAMILY_SUFFIXES = {"histogram": ("_bucket", "_count", "_sum"), "summary": ("_count", "_sum")}
_ENVIRO_NAME = re.compile(r"\benviro_[a-zA-Z0-9_]+")


def metric_names_in(text: str) -> set[str]:
    """The ``enviro_*`` metric names a PromQL expression (or any text) mentions."""
    return set(_ENVIRO_NAME.findall(text))


def exposition_names(exposition: str) -> set[str]:
    """Every series name a /metrics page in text format 0.0.4 offers to PromQL.

    Families declared with no samples yet (a counter of rejections that never
    happened) count too: their series exist as soon as the event does.
    """
    names = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            names.add(name)
            names.update(name + suffix for suffix in _FAMILY_SUFFIXES.get(kind, ()))
        elif line and not line.startswith("#"):
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group())
    return names


def _sensor_health(base: str) -> tuple[dict[str, str], str]:
    """Each sensor's enviro_sensor_up value, and the whole page."""
    text = requests.get(base + "/metrics", timeout=5).text
    up = re.findall(r'^enviro_sensor_up\{sensor="([^"]+)"\} (\S+)$', text, re.MULTILINE)
    return dict(up), text


@functools.cache
def exposed_metric_names() -> frozenset[str]:
    """The metric names a real gunicorn on the fault-free virtual board exposes.

    It waits until every sensor has read successfully, so the readings are
    on the page; the gas heater's warm-up is skipped for the same reason.
    """
    # Every kind of extra sensor listed, so that its metrics are on the page.
    sensors = "aht10@0x38,bmp280@0x77,scd41@0x62,sgp40@0x59"
    data_dir = tempfile.TemporaryDirectory(prefix="enviro-learned-")
    _seed_learned_state(Path(data_dir.name))
    # The i2c group polled ten times a second: the SGP40's VOC index counts
    # samples, and answers only after 45 of them (45 s at its usual 1 s).
    environ = {
        "ENVIRO_GAS_WARMUP": "0",
        "ENVIRO_I2C_SENSORS": sensors,
        "ENVIRO_I2C_INTERVAL": "0.1",
        "ENVIRO_DATA_DIR": data_dir.name,
    }
    with data_dir, gunicorn_server(environ) as (base, _):
        _, text = wait_for(
            lambda: _sensor_health(base),
            "every sensor up on the virtual board, with a reading",
            # Up is not enough: a sensor warming up (the SCD41's first 5 s)
            # is up with no reading yet.
            until=lambda health: (
                health[0]
                and set(health[0].values()) == {"1.0"}
                and set(_read_once(health[1])) == set(health[0])
            ),
            deadline_seconds=90,
        )
    return frozenset(exposition_names(text))


def _seed_learned_state(data_dir: Path) -> None:
    """What a Pi that has run for a day keeps: a gas baseline and the last hours of particulates.

    Without them the gas ratios and the air quality index appear only after
    a day and two hours of readings.
    """
    hour = int(time.time() // 3600)
    medians = {
        channel: [[h, ohms] for h in range(hour - 30, hour)]
        for channel, ohms in (("oxidising", 20_000.0), ("reducing", 400_000.0), ("nh3", 160_000.0))
    }
    averages = {pollutant: [[h, 8.0] for h in range(hour - 12, hour)] for pollutant in ("pm2.5", "pm10")}
    (data_dir / "gas-baseline-mics6814.json").write_text(json.dumps({"version": 1, "medians": medians}))
    (data_dir / "air-quality-pms5003.json").write_text(json.dumps({"version": 1, "averages": averages}))


def _read_once(text: str) -> list[str]:
    """The sensors with a successful read on an exposition page."""
    pattern = r'^enviro_sensor_last_success_timestamp_seconds\{sensor="([^"]+)"\} (\S+)$'
    return [sensor for sensor, value in re.findall(pattern, text, re.MULTILINE) if float(value) > 0]
