"""Nodes told ``stored`` are never let down: the real service killed with SIGKILL twenty times.

``enviro-sensor serve`` (gunicorn) with a real SQLite history and a real
InfluxDB 1.x; nodes send packets over TCP all the while. At a random
moment the whole process group is killed (SIGKILL: no shutdown code runs),
then started again on the same data directory. After each restart every
packet answered ``stored`` so far is in the history, once (its rollup
counts it once); after the last, stopped cleanly, every one is in InfluxDB
too, from the journal's replay.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from enviro_sensor.history.database import path_in
from enviro_sensor.nodes import client
from enviro_sensor.nodes.protocol import Code, Encoding, Measurement, Packet
from tests.influx_servers import influx_query, influxd, needs_influxd
from tests.servers import ROOT, free_port, serve_command

pytestmark = pytest.mark.e2e

KILLS = 20
NODES = 4
# Bounds on each step, so that a fault ends the test instead of hanging it.
START_SECONDS = 60.0
CATCH_UP_SECONDS = 60.0


def device_id(index: int) -> int:
    return 5001 + index


def key_of(index: int) -> bytes:
    return bytes([index + 1]) * 32


def devices_file(folder: Path) -> Path:
    path = folder / "nodes.toml"
    path.write_text(
        "".join(
            f'[[device]]\nid = {device_id(i)}\nname = "n{i}"\nkey = "{key_of(i).hex()}"\n'
            'measurements = ["bme280.temperature_celsius"]\n\n'
            for i in range(NODES)
        )
    )
    return path


def temperature(sequence: int) -> float:
    """Each packet's value says which packet it was: 10.00 + sequence / 100 °C."""
    return round(10 + sequence / 100, 2)


class Service:
    """The service in its own process group, so that SIGKILL takes gunicorn's worker with its master."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("a") as output:
            self.process = subprocess.Popen(
                serve_command(), cwd=ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + START_SECONDS
        while not _listening(int(self.env["ENVIRO_NODES_PORT"])):
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(30)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Nodes:
    """One thread per node, sending packets until told to stop; remembers what was answered stored."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sequences = [0] * NODES
        self.stored: dict[int, set[float]] = {i: set() for i in range(NODES)}
        self.answers: dict[str, int] = {}
        self._lock = threading.Lock()

    def run(self, stop: threading.Event) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._send, args=(i, stop), daemon=True) for i in range(NODES)]
        for thread in threads:
            thread.start()
        return threads

    def _send(self, index: int, stop: threading.Event) -> None:
        while not stop.is_set():
            self.sequences[index] += 1
            sequence = self.sequences[index]
            value = Measurement(Encoding.INT16, 1000 + sequence, 2)
            packet = Packet(device_id(index), sequence, 3700, 10, 10, (value,))
            try:
                answer = client.exchange("127.0.0.1", self.port, packet, key_of(index), timeout=10)
            except (OSError, ValueError):
                return  # the service was killed: this node sleeps until the next round
            with self._lock:
                self.answers[answer.code.reason] = self.answers.get(answer.code.reason, 0) + 1
                if answer.code is Code.STORED:
                    self.stored[index].add(temperature(sequence))


def history_of(data: Path) -> tuple[dict[int, list[float]], bool]:
    """Each node's temperatures in the history, and whether every rollup counts its values once."""
    db = sqlite3.connect(f"{path_in(data).as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        found: dict[int, list[float]] = {i: [] for i in range(NODES)}
        rows = db.execute(
            "SELECT sensor, value FROM raw JOIN series ON series.id = raw.series WHERE field = 'temperature_celsius'"
        ).fetchall()
        for sensor, value in rows:
            if sensor.startswith("n") and "/" in sensor:
                found[int(sensor[1 : sensor.index("/")])].append(round(value, 2))
        raw = db.execute("SELECT count(*) FROM raw").fetchone()[0]
        counted = db.execute("SELECT coalesce(sum(count), 0) FROM rollup").fetchone()[0]
        return found, raw == counted
    except sqlite3.OperationalError:  # not created yet
        return {i: [] for i in range(NODES)}, True
    finally:
        db.close()


def wait_for_history(data: Path, stored: dict[int, set[float]]) -> None:
    deadline = time.monotonic() + CATCH_UP_SECONDS
    while True:
        found, once = history_of(data)
        missing = {i: stored[i] - set(found[i]) for i in range(NODES)}
        if not any(missing.values()):
            assert once, "a rollup counts a value twice"
            for i in range(NODES):
                assert len(found[i]) == len(set(found[i])), f"n{i}: a value stored twice"
            return
        assert time.monotonic() < deadline, f"stored packets not in the history: {missing}"
        time.sleep(0.2)


@needs_influxd
def test_packets_answered_stored_survive_twenty_kills(tmp_path):
    rng = random.Random(25)
    (tmp_path / "influx").mkdir()
    database = influxd(tmp_path / "influx")
    database.start()
    requests.post(
        database.url + "/query", data={"q": "CREATE DATABASE enviro"}, timeout=10
    ).raise_for_status()
    data = tmp_path / "data"
    nodes_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVIRO_")}
    env.update(
        {
            "ENVIRO_HOST": "127.0.0.1",
            "ENVIRO_PORT": str(free_port()),
            "ENVIRO_BOARD": "virtual",
            "ENVIRO_LCD": "off",
            "ENVIRO_DATA_DIR": str(data),
            "ENVIRO_HISTORY_FLUSH": "1",  # its shortest: a batch written every second
            "ENVIRO_NODES_FILE": str(devices_file(tmp_path)),
            "ENVIRO_NODES_PORT": str(nodes_port),
            "ENVIRO_INFLUX_URL": database.url,
            "ENVIRO_INFLUX_DB": "enviro",
        }
    )
    service = Service(env, tmp_path / "service.log")
    nodes = Nodes(nodes_port)
    try:
        for _ in range(KILLS):
            service.start()
            wait_for_history(data, nodes.stored)  # what earlier rounds were told, after the restart
            stop = threading.Event()
            threads = nodes.run(stop)
            # A random moment up to a batch and a half in: mid-batch, mid-fsync, mid-answer.
            time.sleep(rng.uniform(0.2, 1.5))
            service.kill()
            stop.set()
            for thread in threads:
                thread.join(30)
        service.start()
        wait_for_history(data, nodes.stored)
        service.stop()  # cleanly: InfluxDB gets what the journal replayed
        total = sum(len(values) for values in nodes.stored.values())
        assert total > KILLS * NODES, nodes.answers  # the test sent something worth checking
        for i in range(NODES):
            rows = influx_query(
                database, "enviro", f"SELECT temperature_celsius FROM enviro WHERE node = 'n{i}'"
            )
            in_influx = {round(row["temperature_celsius"], 2) for row in rows}
            assert nodes.stored[i] <= in_influx, f"n{i}: {sorted(nodes.stored[i] - in_influx)[:10]}"
        print(f"{total} packets stored across {KILLS} kills; answers {nodes.answers}")
    finally:
        service.stop()
        database.stop()
