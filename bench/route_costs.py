"""What each route costs the worker: CPU per request, bytes, and wrk's rate, printed as a table.

Starts the real service (``enviro-sensor serve``, virtual board, history on in
a temporary directory) from a checkout, and for each route:

- **CPU**: the worker's CPU time (``/proc/<pid>/stat``, all its threads)
  over ``--requests`` requests sent one after another on one kept-alive
  connection, divided by their number. The background polling runs
  meanwhile, but costs well under 1 % of a core, so this is the route's
  own cost; unlike a rate, it hardly moves when other work shares the
  machine.
- **rate**: wrk (8 connections, ``--seconds`` each, the median of
  ``--rounds`` runs) if wrk is installed and ``--seconds`` is not 0.

``--checkout DIR`` runs another checkout with this one's interpreter and
packages, which is how a "before" is measured:
``git worktree add /tmp/before <commit>`` then
``.venv/bin/python bench/route_costs.py --checkout /tmp/before``.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.http_load import run_wrk  # noqa: E402
from bench.routes import READ_ROUTES  # noqa: E402
from tests.servers import free_port, serve_command, stop, wait_until_serving  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
# What Prometheus sends: OpenMetrics first, and gzip.
PROMETHEUS_HEADERS = {
    "Accept": "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.1",
    "Accept-Encoding": "gzip",
}
# Routes beyond the soak's read routes, and /metrics as Prometheus asks for it.
MORE_ROUTES = [
    "/api/sensors/particulates",
    "/api/sensors/noise",
    "/api/nodes",
    "/api/history?sensor=bme280&field=temperature_celsius&since=-1h",
    "/api/lcd",
    "/apispec.json",
    "/api/docs",
]


def worker_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _request(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _read_answer(sock: socket.socket, buffer: bytearray) -> int:
    """Read one whole answer (Content-Length framed) off ``sock``; its body's length."""
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end >= 0:
            head = bytes(buffer[:end]).decode("latin-1").lower()
            length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
            if len(buffer) >= end + 4 + length:
                del buffer[: end + 4 + length]
                return length
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        buffer += chunk


def cpu_per_request(
    port: int, worker: int, path: str, headers: dict[str, str], count: int
) -> tuple[float, int]:
    """Worker CPU milliseconds per request of ``path``, and the body's bytes."""
    request = _request(path, headers)
    buffer = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        for _ in range(max(10, count // 10)):  # warm up: memos, caches, first imports
            sock.sendall(request)
            _read_answer(sock, buffer)
        before = worker_cpu(worker)
        for _ in range(count):
            sock.sendall(request)
            size = _read_answer(sock, buffer)
    return (worker_cpu(worker) - before) * 1000 / count, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the checkout to run (default: this one)")
    parser.add_argument("--requests", type=int, default=1000, help="requests per route for the CPU figure")
    parser.add_argument("--seconds", type=int, default=3, help="length of each wrk run (0: no wrk)")
    parser.add_argument("--rounds", type=int, default=3, help="wrk runs per route (the median is shown)")
    args = parser.parse_args()
    wrk = args.seconds > 0 and shutil.which("wrk") is not None
    routes = [(path, {}) for path in READ_ROUTES + MORE_ROUTES if path != "/healthz"]
    routes.append(("/metrics", PROMETHEUS_HEADERS))
    with tempfile.TemporaryDirectory(prefix="enviro-routes-") as data:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ENVIRO_")}
        env.update(
            ENVIRO_HOST="127.0.0.1", ENVIRO_PORT=str(port), ENVIRO_BOARD="virtual", ENVIRO_DATA_DIR=data
        )
        master = subprocess.Popen(
            serve_command(checkout=args.checkout),
            cwd=args.checkout,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_serving(f"http://127.0.0.1:{port}/healthz", master)
            time.sleep(3)  # every group's first reading
            worker = int(Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()[0])
            commit = subprocess.run(
                ["git", "-C", str(args.checkout), "log", "-1", "--format=%h %s"],
                capture_output=True,
                text=True,
            ).stdout.strip()
            print(f"checkout {args.checkout} at {commit}")
            print(
                f"{'route':<66} {'CPU ms':>7} {'bytes':>7}"
                + (f" {'req/s':>8} {'x healthz':>9}" if wrk else "")
            )
            healthz_rate = None
            for path, headers in [("/healthz", {}), *routes]:
                ms, size = cpu_per_request(port, worker, path, headers, args.requests)
                label = path + (" (as Prometheus asks: OpenMetrics, gzip)" if headers else "")
                line = f"{label:<66} {ms:7.3f} {size:7d}"
                if wrk and not headers:
                    rate = statistics.median(
                        run_wrk(f"http://127.0.0.1:{port}{path}", args.seconds, 8, 1)["rps"]
                        for _ in range(args.rounds)
                    )
                    healthz_rate = healthz_rate or rate
                    line += f" {rate:8.1f} {rate / healthz_rate:8.2f}x"
                print(line, flush=True)
        finally:
            stop(master)


if __name__ == "__main__":
    main()
