"""Time from a poll to the MQTT message, and what a black-holed broker costs the rest.

On the virtual board in one process (PolledApp, polled by hand), with a real
mosquitto on a loopback port:

- ``poll -> MQTT``: from the start of a weather poll to the moment a
  subscriber has the BME280's state message (the poll itself included);
- ``/api/sensors/weather``: the answer time through Flask's test client,
  with no MQTT output, with the live broker, and with a broker that accepts
  the connection and never answers;
- the HTTP output's records sent, in each case (the same, or it lost some);
- ``poll -> InfluxDB``: from the start of a weather poll to the BME280's
  point answering an InfluxQL query on a real influxd (1.x), the clock
  moved by the batch interval before each poll so that every poll sends.

Asserts nothing: it prints a table. Needs mosquitto and influxdb (Debian packages).
Run: ``.venv/bin/python bench/outputs_latency.py [--polls 200]``.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from enviro_sensor.outputs.influx import FLUSH_SECONDS  # noqa: E402
from enviro_sensor.outputs.mqtt import node_id  # noqa: E402
from tests.influx_servers import influx_query, influxd  # noqa: E402
from tests.mosquitto import Subscriber, running_broker, wait_for  # noqa: E402
from tests.sensor_support import PolledApp  # noqa: E402

# Every poll's own duration (board reads and validation), for comparison.
POLL_TIMES: list[float] = []


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"median {statistics.median(ordered) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms, max {ordered[-1] * 1000:.2f} ms"


def run(polled: PolledApp, polls: int, heard: Subscriber | None) -> tuple[list[float], list[float]]:
    """(poll -> message times, request times) over ``polls`` weather polls."""
    to_message, requests, poll_alone = [], [], []
    topic = f"enviro/{node_id()}/bme280/state"
    for _ in range(polls):
        polled.clock.advance(0.5)
        before = len(heard.payloads(topic)) if heard else 0
        started = time.perf_counter()
        polled.collector.poll("weather")
        poll_alone.append(time.perf_counter() - started)
        if heard is not None:
            wait_for(lambda b=before: len(heard.payloads(topic)) > b, 10, "the state message", step=0.0002)
            to_message.append(time.perf_counter() - started)
        polled.settle()
        asked = time.perf_counter()
        assert polled.client.get("/api/sensors/weather").status_code == 200
        requests.append(time.perf_counter() - asked)
    POLL_TIMES.extend(poll_alone)
    return to_message, requests


def http_sent(polled: PolledApp) -> int:
    return polled.client.get("/api/outputs").get_json()["result"]["outputs"]["http"]["sent"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--polls", type=int, default=200)
    polls = parser.parse_args().polls
    rows = []

    plain = PolledApp()
    try:
        _, asked = run(plain, polls, None)
        rows.append(("no MQTT", "-", percentiles(asked), http_sent(plain)))
    finally:
        plain.close()

    with tempfile.TemporaryDirectory() as folder, running_broker(Path(folder)) as broker:
        heard = Subscriber(broker, "enviro/#")
        live = PolledApp(environ={"ENVIRO_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}"})
        try:
            wait_for(
                lambda: heard.snapshot().get(f"enviro/{node_id()}/availability") == "online", 15, "online"
            )
            to_message, asked = run(live, polls, heard)
            rows.append(("live mosquitto", percentiles(to_message), percentiles(asked), http_sent(live)))
        finally:
            live.close()
            heard.close()

    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        hole.settimeout(0.1)
        while not done.is_set():
            try:
                held.append(hole.accept()[0])
            except TimeoutError:
                continue

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    blackholed = PolledApp(environ={"ENVIRO_MQTT_URL": f"mqtt://127.0.0.1:{hole.getsockname()[1]}"})
    try:
        _, asked = run(blackholed, polls, None)
        rows.append(("black-holed broker", "-", percentiles(asked), http_sent(blackholed)))
    finally:
        blackholed.close()
        done.set()
        acceptor.join(5)
        for sock in held:
            sock.close()
        hole.close()

    with tempfile.TemporaryDirectory() as folder:
        server = influxd(Path(folder))
        server.start()
        try:
            requests.post(server.url + "/query", data={"q": "CREATE DATABASE enviro"}, timeout=10)
            database = PolledApp(environ={"ENVIRO_INFLUX_URL": server.url, "ENVIRO_INFLUX_DB": "enviro"})
            to_point = []
            query = "SELECT count(pressure_hectopascals) FROM enviro WHERE sensor='bme280'"

            def stored() -> int:
                rows = influx_query(server, "enviro", query)
                return int(rows[0]["count"]) if rows else 0

            try:
                # The first reading opens a batch; from then on each poll's first one sends it.
                database.collector.poll("weather")
                database.settle()  # the output takes the time of its batch from the clock
                for done in range(polls):
                    database.clock.advance(FLUSH_SECONDS)
                    started = time.perf_counter()
                    database.collector.poll("weather")
                    wait_for(lambda d=done: stored() > d, 10, "the point", step=0.0005)
                    to_point.append(time.perf_counter() - started)
                    database.settle()
            finally:
                database.close()
            rows.append(("poll -> InfluxDB point queryable", percentiles(to_point), "-", "-"))
        finally:
            server.stop()

    print(f"{polls} weather polls each; a poll alone: {percentiles(POLL_TIMES)}")
    print("| broker | poll -> MQTT state message | GET /api/sensors/weather | HTTP output records sent |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


if __name__ == "__main__":
    main()
