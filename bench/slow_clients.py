"""How fast a fresh client is answered while slow or silent connections are open.

Starts the real service (``enviro-sensor serve``, virtual board) on a loopback
port; for each count and kind of slow connection, opens them, lets each
trickle one byte a second, and meanwhile asks ``/healthz`` every 0.2 s as a
fresh client (5 s timeout). ``--stock`` runs the same with gunicorn's stock
``gthread`` worker, for comparison. Asserts nothing: it prints a table.

Kinds: ``headers`` (a request head, one byte at a time), ``body`` (a whole
head, then a 100-byte body one byte at a time) and ``silent`` (connects,
sends nothing).

Run: ``.venv/bin/python bench/slow_clients.py [--stock] [--seconds 6]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import free_port, serve_command, stop, wait_until_serving  # noqa: E402

STARTS = {
    "headers": (b"G", b"E"),
    "body": (
        b"POST /api/lcd HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n",
        b"x",
    ),
    "silent": (b"", b""),
}


def probe(base: str, count: int, kind: str, seconds: float) -> dict[str, float]:
    port = int(base.rsplit(":", 1)[1])
    first, trickle = STARTS[kind]
    slow = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]
    latencies, timeouts = [], 0
    try:
        for sock in slow:
            sock.send(first)
        end = time.monotonic() + seconds
        next_trickle = time.monotonic()
        while time.monotonic() < end:
            if time.monotonic() >= next_trickle:
                for sock in slow:
                    with contextlib.suppress(OSError):
                        sock.send(trickle)
                next_trickle += 1.0
            started = time.monotonic()
            try:
                requests.get(base + "/healthz", timeout=5)
                latencies.append(time.monotonic() - started)
            except requests.RequestException:
                timeouts += 1
            time.sleep(0.2)
    finally:
        for sock in slow:
            sock.close()
    return {
        "answered": len(latencies),
        "timeouts": timeouts,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "max": max(latencies) if latencies else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stock", action="store_true", help="gunicorn's own gthread worker instead")
    parser.add_argument("--seconds", type=float, default=6.0, help="probing time per case")
    args = parser.parse_args()

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVIRO_")}
    env.update({"ENVIRO_HOST": "127.0.0.1", "ENVIRO_PORT": str(port), "ENVIRO_BOARD": "virtual"})
    command = serve_command(*(["-k", "gthread"] if args.stock else []))
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base + "/healthz", process)
        worker = "stock gthread" if args.stock else "RequestBufferingWorker"
        print(f"{worker}: fresh /healthz while slow connections are open ({args.seconds:g} s each)")
        print("| slow connections | kind | answered | timed out (5 s) | p50 ms | max ms |")
        print("| ---: | --- | ---: | ---: | ---: | ---: |")
        for kind in STARTS:
            for count in (4, 64, 256):
                figures = probe(base, count, kind, args.seconds)
                print(
                    f"| {count} | {kind} | {figures['answered']} | {figures['timeouts']} | "
                    f"{figures['p50'] * 1000:.1f} | {figures['max'] * 1000:.1f} |",
                    flush=True,
                )
                # Let the server close what is left before the next case.
                time.sleep(1)
    finally:
        stop(process)


if __name__ == "__main__":
    main()
