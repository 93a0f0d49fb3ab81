"""Soak under the real gunicorn: faults, LCD posts, wrk bursts and hostile clients.

Starts ``enviro-sensor serve`` (gunicorn) on the virtual board, with
intermittent faults on every device (they come and go by themselves), on a
loopback port, and for ``--minutes`` keeps it busy:

- a client cycling through every read route;
- LCD posts of many lengths (1 to 1000 characters, several scripts and
  colours), one every half second;
- every minute a 10 s wrk burst (8 connections) on one route, in turn;
- every 30 s a hostile spell: 64 connections trickling request heads for
  12 s, made-up methods, malformed chunked bodies, oversized heads, while a
  fresh client's ``/healthz`` latency is measured.

Every 30 s it samples the worker process's RSS, threads and open files from
/proc and prints them; at the end, the status counts and the figures.
Asserts nothing; a 500 is reported loudly.

Run: ``.venv/bin/python bench/gunicorn_soak.py --minutes 10`` (needs wrk for
the bursts; without it they are skipped).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.routes import READ_ROUTES as ROUTES  # noqa: E402
from tests.servers import gunicorn_server  # noqa: E402

FAULTS = ",".join(
    f"{device}=intermittent"
    for device in ("bme280", "ltr559", "ads1015", "aht10", "bmp280", "pms5003", "st7735")
)
READ_ROUTES = [*ROUTES, "/api/lcd"]
BURST_ROUTES = ["/healthz", "/api/sensors/weather", "/metrics"]
WORDS = [
    "Back",
    "at",
    "3",
    "pm",
    "→",
    "✓",
    "Küche",
    "21.5",
    "°C",
    "Привет",
    "κόσμος",
    "Ωμέγα",
    "well-known",
    "http://pi:8000/",
    "😀",
    "a",
]
COLOURS = ["red", "white", "#ffff00", "navy", "#00ff7f", None]
SAMPLE_SECONDS = 30


def worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0])


def figures(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    field = {line.split(":")[0]: line.split()[1] for line in status if ":" in line and len(line.split()) > 1}
    return {
        "rss_mib": int(field["VmRSS"]) / 1024,
        "threads": int(field["Threads"]),
        "open_files": len(list(Path(f"/proc/{pid}/fd").iterdir())),
    }


class Soak:
    def __init__(self, base: str, seed: int) -> None:
        self.base = base
        self.port = int(base.rsplit(":", 1)[1])
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.statuses: collections.Counter = collections.Counter()
        self.lcd: collections.Counter = collections.Counter()
        self.healthz_under_attack: list[float] = []
        self.bursts: list[str] = []
        self.random = random.Random(seed)

    def count(self, counter: collections.Counter, key: object) -> None:
        with self.lock:
            counter[key] += 1

    def reader(self) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            for route in READ_ROUTES:
                with contextlib.suppress(requests.RequestException):
                    self.count(self.statuses, session.get(self.base + route, timeout=10).status_code)

    def poster(self) -> None:
        chooser = random.Random(self.random.random())
        session = requests.Session()
        while not self.stop.wait(0.5):
            length = chooser.choice([1, 5, 12, 30, 60, 120, 250, 500, 1000])
            text = ""
            while len(text) < length:
                text += chooser.choice(WORDS) + chooser.choice([" ", " ", "\n"])
            fields = {"message": text[:length].strip() or "x", "color": chooser.choice(COLOURS)}
            with contextlib.suppress(requests.RequestException):
                self.count(
                    self.lcd, session.post(self.base + "/api/lcd", json=fields, timeout=10).status_code
                )

    def hostile_spell(self) -> None:
        slow = []
        for _ in range(64):
            with contextlib.suppress(OSError):
                slow.append(socket.create_connection(("127.0.0.1", self.port), timeout=5))
        try:
            for sock in slow:
                sock.send(b"G")
            junk = [
                b"POST /api/lcd HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
                b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 40000 + b"\r\n\r\n",
                b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n",
            ]
            end = time.monotonic() + 12
            while time.monotonic() < end and not self.stop.is_set():
                for sock in slow:
                    with contextlib.suppress(OSError):
                        sock.send(b"E")
                method = "".join(self.random.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ", k=10))
                with contextlib.suppress(requests.RequestException):
                    requests.request(method, self.base + "/api/sensors", timeout=5)
                for raw in junk:
                    with (
                        contextlib.suppress(OSError),
                        socket.create_connection(("127.0.0.1", self.port), 5) as s,
                    ):
                        s.sendall(raw)
                        s.recv(1000)
                started = time.monotonic()
                with contextlib.suppress(requests.RequestException):
                    requests.get(self.base + "/healthz", timeout=5)
                    self.healthz_under_attack.append(time.monotonic() - started)
                time.sleep(1)
        finally:
            for sock in slow:
                sock.close()

    def burst(self, number: int) -> None:
        if shutil.which("wrk") is None:
            return
        route = BURST_ROUTES[number % len(BURST_ROUTES)]
        out = subprocess.run(
            ["wrk", "-t2", "-c8", "-d10s", "--timeout", "10s", self.base + route],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        rate = next((line.split()[-1] for line in out.splitlines() if line.startswith("Requests/sec")), "?")
        self.bursts.append(f"{route} {rate} req/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    env = {
        "ENVIRO_VIRTUAL_FAULTS": FAULTS,
        "ENVIRO_WEATHER_INTERVAL": "1",
        "ENVIRO_GAS_INTERVAL": "1",
        "ENVIRO_GAS_WARMUP": "0",
        "ENVIRO_LOG_LEVEL": "warning",
    }
    with gunicorn_server(env) as (base, process):
        # The access log (one line per request) is not read: drop it.
        output = process.stdout
        assert output is not None
        threading.Thread(target=lambda: [None for _ in output], daemon=True).start()
        pid = worker_pid(process.pid)
        soak = Soak(base, args.seed)
        threading.Thread(target=soak.reader, daemon=True).start()
        threading.Thread(target=soak.poster, daemon=True).start()
        samples = [(0.0, figures(pid))]
        print(f"worker {pid}, faults {FAULTS}", flush=True)
        print(f"  0.0 min {samples[0][1]}", flush=True)
        start = time.monotonic()
        end = start + args.minutes * 60
        spell = burst = 0
        while time.monotonic() < end:
            elapsed = time.monotonic() - start
            if elapsed >= 30 * spell + 15:
                spell += 1
                threading.Thread(target=soak.hostile_spell, daemon=True).start()
            if elapsed >= 60 * burst + 40:
                soak.burst(burst)
                burst += 1
            if elapsed >= SAMPLE_SECONDS * len(samples):
                samples.append((elapsed / 60, figures(pid)))
                print(f"{elapsed / 60:5.1f} min {samples[-1][1]}", flush=True)
            time.sleep(1)
        soak.stop.set()
        time.sleep(2)
        last = figures(pid)

    after_minute = [sample for minutes, sample in samples if minutes >= 1] or [last]
    rss = [sample["rss_mib"] for sample in after_minute]
    print(
        f"RSS: {samples[0][1]['rss_mib']:.1f} MiB at start, {after_minute[0]['rss_mib']:.1f} after 1 min, "
        f"{last['rss_mib']:.1f} at the end (after 1 min: {min(rss):.1f}-{max(rss):.1f})"
    )
    print(
        f"threads: {min(s['threads'] for _, s in samples)}-{max(s['threads'] for _, s in samples)}, "
        f"open files: {min(s['open_files'] for _, s in samples)}-{max(s['open_files'] for _, s in samples)}"
    )
    print(f"read requests by status: {dict(sorted(soak.statuses.items()))}")
    print(f"LCD posts by status: {dict(sorted(soak.lcd.items()))}")
    if soak.healthz_under_attack:
        slowest = max(soak.healthz_under_attack)
        print(
            f"/healthz during hostile spells: {len(soak.healthz_under_attack)} asked, slowest {slowest * 1000:.0f} ms"
        )
    print("wrk bursts: " + "; ".join(soak.bursts))
    errors = soak.statuses.get(500, 0) + soak.lcd.get(500, 0)
    if errors:
        print(f"SERVER ERRORS: {errors} requests answered 500")


if __name__ == "__main__":
    main()
