"""Real InfluxDB 1.x and VictoriaMetrics on free loopback ports, with their data in a test folder."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from tests.mosquitto import wait_for
from tests.servers import free_port

INFLUXD = shutil.which("influxd")
VICTORIA = shutil.which("victoria-metrics")
needs_influxd = pytest.mark.skipif(INFLUXD is None, reason="needs influxd (Debian package influxdb)")
needs_victoria = pytest.mark.skipif(
    VICTORIA is None, reason="needs victoria-metrics (Debian package victoria-metrics)"
)


class Server:
    """One database process; ``start``/``stop`` may be repeated, on the same port and data."""

    def __init__(self, command: list[str], url: str, ready: str) -> None:
        self.command = command
        self.url = url
        self._ready = ready
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._answers, 30, f"{self.command[0]} answering")

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.command[0]} exited with {self.process.returncode}")
        try:
            return requests.get(self.url + self._ready, timeout=2).status_code < 300
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def influxd(folder: Path) -> Server:
    port, rpc = free_port(), free_port()
    config = folder / "influxd.conf"
    config.write_text(
        f"""reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{folder / "meta"}"
[data]
  dir = "{folder / "data"}"
  wal-dir = "{folder / "wal"}"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{port}"
  log-enabled = false
[monitor]
  store-enabled = false
"""
    )
    return Server([str(INFLUXD), "-config", str(config)], f"http://127.0.0.1:{port}", "/ping")


def victoria(folder: Path) -> Server:
    port = free_port()
    command = [
        str(VICTORIA),
        f"-storageDataPath={folder / 'vm'}",
        f"-httpListenAddr=127.0.0.1:{port}",
        "-retentionPeriod=100y",
    ]
    return Server(command, f"http://127.0.0.1:{port}", "/health")


def influx_query(server: Server, db: str, query: str) -> list[dict]:
    """Rows of an InfluxQL query, as dicts by column."""
    answer = requests.post(
        server.url + "/query", params={"db": db, "epoch": "ms"}, data={"q": query}, timeout=10
    )
    answer.raise_for_status()
    rows = []
    for result in answer.json()["results"]:
        for series in result.get("series", []):
            rows += [dict(zip(series["columns"], values, strict=True)) for values in series["values"]]
    return rows


def victoria_export(server: Server) -> dict[tuple[str, str], dict[int, float]]:
    """Every enviro point VictoriaMetrics holds: {(metric, sensor): {ms: value}}."""
    requests.get(server.url + "/internal/force_flush", timeout=10)
    answer = requests.post(
        server.url + "/api/v1/export", data={"match[]": '{__name__=~"enviro_.*"}'}, timeout=10
    )
    points: dict[tuple[str, str], dict[int, float]] = {}
    for text in answer.text.splitlines():
        series = json.loads(text)
        key = (series["metric"]["__name__"], series["metric"]["sensor"])
        points.setdefault(key, {}).update(zip(series["timestamps"], series["values"], strict=True))
    return points
