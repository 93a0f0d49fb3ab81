"""HTTP throughput and latency of the service, printed as a table.

Starts the real service (``enviro-sensor serve``, virtual board) on a loopback
port and loads it with wrk (Debian's package) for each route; then does the
same for the read-on-request design (bench/read_on_request.py). Asserts
nothing: it prints figures. Run: ``.venv/bin/python bench/http_load.py``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import GUNICORN, free_port, serve_command, wait_until_serving  # noqa: E402

# The original design's app, under gunicorn's stock threaded worker.
ORIGINAL = [
    str(GUNICORN),
    "-w",
    "1",
    "-k",
    "gthread",
    "--access-logfile",
    "/dev/null",
    "bench.read_on_request:app",
]

UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def _seconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * UNITS[unit]


def run_wrk(url: str, seconds: int, connections: int, threads: int) -> dict[str, float]:
    """Requests per second and latency percentiles from one wrk run."""
    out = subprocess.run(
        ["wrk", "--latency", "--timeout", "30s", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _seconds(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _seconds(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": int(errors.group(1)) if errors else 0}


def drain(base: str) -> None:
    """Wait until requests left over from the last run are answered.

    wrk stops sending, but a server that reads sensors inside requests may
    still hold a queue of them, which would fall on the next route's run.
    """
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        started = time.monotonic()
        requests.get(base + "/healthz", timeout=120)
        if time.monotonic() - started < 0.05:
            return


def start_server(command: list[str], port: int, env: dict[str, str]) -> subprocess.Popen:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ENVIRO_")}
    environment.update({"ENVIRO_HOST": "127.0.0.1", "ENVIRO_PORT": str(port), "ENVIRO_BOARD": "virtual"})
    environment.update(env)
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def measure(command: list[str], routes: list[str], args) -> dict[str, dict[str, float]]:
    port = free_port()
    # A warm-up short enough that the gas heater's wait does not matter here.
    server = start_server(command, port, {"ENVIRO_GAS_WARMUP": "0", "ENVIRO_THREADS": str(args.threads)})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base + "/healthz", server)
        time.sleep(args.settle)  # let the collector take its first readings
        for route in routes:
            run_wrk(base + route, 2, args.connections, 1)  # warm the path
        # Routes take turns, round after round, and each keeps its median
        # round: a drift in the machine's load falls on all of them alike.
        rounds = {route: [] for route in routes}
        for _ in range(args.rounds):
            for route in routes:
                rounds[route].append(run_wrk(base + route, args.seconds, args.connections, args.wrk_threads))
                drain(base)
        return {
            route: sorted(runs, key=lambda run: run["rps"])[len(runs) // 2] for route, runs in rounds.items()
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per route; the median is shown")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads (ENVIRO_THREADS)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before measuring")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench needs wrk (Debian package wrk)")

    sensor_routes = ["/api/sensors/weather", "/api/sensors/gas", "/api/sensors/pollution"]
    cached = measure(
        serve_command("--access-logfile", "/dev/null"), ["/healthz", *sensor_routes, "/metrics"], args
    )
    # One server per route: in this design a slow route's queue would hold
    # up the next route's requests.
    on_request = {}
    for route in sensor_routes:
        on_request.update(measure([*ORIGINAL, f"--threads={args.threads}"], [route], args))

    print(
        f"wrk: median of {args.rounds} runs of {args.seconds} s per route, {args.connections} connections; "
        f"gunicorn 1 worker x {args.threads} threads"
    )
    print(f"{'server':<18} {'route':<22} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    rows = [("service", r, v) for r, v in cached.items()] + [
        ("read-on-request", r, v) for r, v in on_request.items()
    ]
    for server, route, v in rows:
        print(
            f"{server:<18} {route:<22} {v['rps']:>9.1f} {v['p50'] * 1e3:>8.2f} {v['p99'] * 1e3:>8.2f} {v['non2xx']:>8}"
        )
    trivial = cached["/healthz"]["rps"]
    for route in sensor_routes:
        served = cached[route]["rps"]
        print(
            f"{route}: {served / trivial:.2f}x the trivial route, "
            f"{served / on_request[route]['rps']:.0f}x the read-on-request design"
        )


if __name__ == "__main__":
    main()
