"""Soak: the service on the virtual board for a while, faults coming and going.

Runs the app in this process (so the faults can be switched while it runs)
behind werkzeug's threaded server on a loopback port, keeps a client busy
on every route, and every interval sets or clears a random fault on a
random device. Prints memory, threads and open files as it goes, and the
HTTP status counts at the end. Asserts nothing; a 500 is reported loudly.

Run: ``.venv/bin/python bench/soak.py --minutes 10``.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import random
import sys
import threading
import time
from pathlib import Path

import requests
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.routes import READ_ROUTES as ROUTES  # noqa: E402
from enviro_sensor.hardware.virtual import VirtualBoard  # noqa: E402
from enviro_sensor.hardware.virtual.faults import DEVICE_FAULTS  # noqa: E402
from enviro_sensor.settings import load_settings  # noqa: E402
from enviro_sensor.web.app import create_app  # noqa: E402
from tests.servers import free_port  # noqa: E402


def process_figures() -> dict[str, float]:
    status = Path("/proc/self/status").read_text()
    rss_kib = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
    return {
        "rss_mib": rss_kib / 1024,
        "threads": threading.active_count(),
        "open_files": len(os.listdir("/proc/self/fd")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--fault-every", type=float, default=15.0, help="seconds between fault changes")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    # One line per request would drown the figures.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    board = VirtualBoard(seed=args.seed)
    settings = load_settings({}, overrides={"weather_interval": 1.0, "gas_interval": 1.0, "gas_warmup": 0.0})
    app = create_app(settings, board=board, start=True)
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    statuses: collections.Counter = collections.Counter()
    stop = threading.Event()

    def client() -> None:
        session = requests.Session()
        while not stop.is_set():
            for route in ROUTES:
                statuses[session.get(base + route, timeout=10).status_code] += 1

    threading.Thread(target=client, daemon=True).start()
    chooser = random.Random(args.seed)
    start = time.monotonic()
    end = start + args.minutes * 60
    first = process_figures()
    print(f"start: {first}", flush=True)
    next_report = start + 60
    while time.monotonic() < end:
        time.sleep(args.fault_every)
        device = chooser.choice(sorted(DEVICE_FAULTS))
        if chooser.random() < 0.5:
            board.faults.clear()
            change = "cleared all faults"
        else:
            fault = chooser.choice(sorted(DEVICE_FAULTS[device]))
            board.faults.set(device, fault)
            change = f"{device}={fault}"
        if time.monotonic() >= next_report:
            print(
                f"{(time.monotonic() - start) / 60:5.1f} min {process_figures()} last change: {change}",
                flush=True,
            )
            next_report += 60
    board.faults.clear()
    time.sleep(5)  # the sensors recover
    stop.set()
    last = process_figures()
    health = requests.get(base + "/api/sensors", timeout=10).json()["result"]["groups"]
    server.shutdown()
    app.extensions["enviro"].stop()
    print(f"end:   {last}")
    print(f"memory: {first['rss_mib']:.1f} MiB at start, {last['rss_mib']:.1f} MiB at end")
    print(f"requests by status: {dict(sorted(statuses.items()))}")
    print("groups after faults cleared: " + ", ".join(f"{n}={g['status']}" for n, g in health.items()))
    if statuses.get(500):
        print(f"SERVER ERRORS: {statuses[500]} requests answered 500")


if __name__ == "__main__":
    main()
