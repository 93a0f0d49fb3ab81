"""The Pi Zero 2 W budget: memory, /metrics cost, idle CPU and start-up, printed.

Each part starts the real service (``enviro-sensor serve``) on the virtual
board on a loopback port, with the defaults a user gets (LCD on, the
history output on in a temporary data directory) and the three virtual
nodes ``scripts/run`` starts there, and prints its figures.
Asserts nothing.

- ``startup``: from spawning gunicorn to the first valid reading of every
  group (``ENVIRO_GAS_WARMUP=0``: the heater's warm-up is set aside),
  polling ``/api/sensors/<group>`` every 20 ms.
- ``idle``: the worker's CPU over ``--idle-seconds`` with no client, from
  /proc/<pid>/stat; then the same length sampled by py-spy (if installed),
  whose busy samples are split between the virtual board's emulation
  (a stack with a frame in ``enviro_sensor/hardware/virtual/``) and the product.
- ``metrics``: wrk on ``/healthz`` and ``/metrics`` in turn (the median of
  ``--rounds`` runs each), then the worker's CPU per scrape before and
  after ``--flood`` requests of every kind, unknown paths included.
- ``memory``: the soak: LCD posts every half second, a client cycling
  through the read routes, and a scrape of ``/metrics`` as Prometheus asks
  for it (OpenMetrics, gzip) every 5 s, for ``--minutes``; master and
  worker PSS (from /proc/<pid>/smaps_rollup: a page the two share counted
  once, what the budget judges) and RSS every 30 s, and both at 1 minute
  and at the end.

Run: ``.venv/bin/python bench/budget.py`` (all parts, a 10-minute soak), or
``--parts startup,idle --minutes 1`` for a short run; ``--setting
ENVIRO_LCD=off`` (repeatable) measures a variant. wrk (Debian package)
for ``metrics``; py-spy (requirements-dev.txt) for the idle attribution.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gunicorn_soak import Soak  # noqa: E402
from bench.http_load import run_wrk  # noqa: E402
from tests.servers import free_port, serve_command, stop, wait_until_serving  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
# Threads that belong to the virtual board alone.
EMULATION_THREADS = ("virtual-",)
# Leaf frames of a thread that py-spy caught at a blocking wait.
WAITS = (
    "wait (threading.py",
    "Condition.wait",
    "Event.wait",
    "EpollSelector.select",
    "SystemClock.sleep",
    "_worker (concurrent/futures/thread.py",
    "Serial.read (serial/serialposix.py",
)
MIB = 1024.0
# Settings given with --setting, on top of the defaults: a variant to weigh
# (the LCD off, fewer groups) measured the same way.
EXTRA_SETTINGS: dict[str, str] = {}


@contextlib.contextmanager
def server(env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen, float]]:
    """gunicorn with the default outputs on; yields (base URL, master, spawn time)."""
    with tempfile.TemporaryDirectory(prefix="enviro-budget-") as data:
        port = free_port()
        environment = {k: v for k, v in os.environ.items() if not k.startswith("ENVIRO_")}
        environment.update(
            {
                "ENVIRO_HOST": "127.0.0.1",
                "ENVIRO_PORT": str(port),
                "ENVIRO_BOARD": "virtual",
                "ENVIRO_DATA_DIR": data,
                "ENVIRO_LOG_LEVEL": "warning",
                # What scripts/run gives the virtual board: three battery nodes.
                "ENVIRO_VIRTUAL_NODES": "3",
            }
        )
        environment.update(env or {})
        environment.update(EXTRA_SETTINGS)
        spawned = time.monotonic()
        process = subprocess.Popen(
            serve_command("--access-logfile", "/dev/null"),
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(base + "/healthz", process)
            yield base, process, spawned
        finally:
            stop(process)


def worker_pid(master: int) -> int:
    return int(Path(f"/proc/{master}/task/{master}/children").read_text().split()[0])


def status(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        parts = value.split()
        if parts and parts[0].isdigit():
            fields[name] = int(parts[0])
    return fields


def pss_kib(pid: int, field: str = "Pss") -> int:
    """``Pss`` or one of its parts (``Pss_Anon``, ``Pss_File``) of ``pid``, in KiB."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def memory_figures(master: int, worker: int) -> dict[str, float]:
    m, w = status(master), status(worker)
    master_pss, worker_pss = pss_kib(master) / MIB, pss_kib(worker) / MIB
    return {
        "master_rss": m["VmRSS"] / MIB,
        "worker_rss": w["VmRSS"] / MIB,
        "worker_anon": w["RssAnon"] / MIB,
        "worker_file": w["RssFile"] / MIB,
        "master_pss": master_pss,
        "worker_pss": worker_pss,
        "pss_sum": master_pss + worker_pss,
        # A library page is divided among every process on the machine that
        # maps it, so Pss_File moves with what else runs; Pss_Anon does not.
        "pss_anon": (pss_kib(master, "Pss_Anon") + pss_kib(worker, "Pss_Anon")) / MIB,
        "threads": w["Threads"],
    }


def memory_line(sample: dict[str, float]) -> str:
    """PSS per process and in total, RSS beside it."""
    return (
        f"PSS master {sample['master_pss']:.1f} + worker {sample['worker_pss']:.1f} = "
        f"{sample['pss_sum']:.1f} MiB (anon {sample['pss_anon']:.1f}); RSS master {sample['master_rss']:.1f} + worker "
        f"{sample['worker_rss']:.1f} (anon {sample['worker_anon']:.1f}, file {sample['worker_file']:.1f}) = "
        f"{sample['master_rss'] + sample['worker_rss']:.1f} MiB"
    )


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def thread_names(spy: str, pid: int) -> dict[int, str]:
    """The worker's threads by OS thread id, named as Python knows them (from py-spy dump)."""
    dump = subprocess.run([spy, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=60).stdout
    names = {}
    for line in dump.splitlines():
        if line.startswith("Thread "):
            tid, _, rest = line[len("Thread ") :].partition(" ")
            with contextlib.suppress(ValueError):
                names[int(tid)] = rest.split('"')[1] if '"' in rest else rest
    return names


# --- start-up -----------------------------------------------------------------


def startup(args: argparse.Namespace) -> None:
    times = []
    for _ in range(args.startup_runs):
        with server({"ENVIRO_GAS_WARMUP": "0"}) as (base, _process, spawned):
            serving = time.monotonic() - spawned
            index = requests.get(base + "/api/sensors", timeout=5).json()["result"]["groups"]
            groups = {name: g["route"] for name, g in index.items() if g["status"] != "disabled"}
            first: dict[str, float] = {}
            session = requests.Session()
            deadline = time.monotonic() + 30
            while len(first) < len(groups) and time.monotonic() < deadline:
                for group, route in groups.items():
                    if group not in first and session.get(base + route, timeout=5).ok:
                        first[group] = time.monotonic() - spawned
                time.sleep(0.02)
            times.append((serving, first))
    for serving, first in times:
        readings = ", ".join(f"{g} {t:.2f}" for g, t in first.items())
        print(f"startup: serving /healthz after {serving:.2f} s; first reading (s): {readings}")
    worst = [max(first.values(), default=float("nan")) for _, first in times]
    print(f"startup: every group read after {statistics.median(worst):.2f} s (median of {len(worst)})")


# --- idle CPU ------------------------------------------------------------------


def idle(args: argparse.Namespace) -> None:
    with server() as (_base, process, _spawned):
        worker = worker_pid(process.pid)
        time.sleep(args.settle)
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        names = thread_names(spy, worker) if Path(spy).exists() else {}
        threads_before = {tid: cpu_seconds(worker, tid) for tid in names}
        master_before = cpu_seconds(process.pid)
        before, started = cpu_seconds(worker), time.monotonic()
        time.sleep(args.idle_seconds)
        elapsed = time.monotonic() - started
        busy = (cpu_seconds(worker) - before) / elapsed
        master = (cpu_seconds(process.pid) - master_before) / elapsed
        print(
            f"idle: worker {busy * 100:.2f} % of one core over {args.idle_seconds:.0f} s, master "
            f"{master * 100:.2f} %, the whole service {(busy + master) * 100:.2f} %"
        )
        if not names:
            print("idle: no py-spy, the emulation's share is not split out")
            return
        by_name: collections.Counter[str] = collections.Counter()
        for tid, spent in threads_before.items():
            with contextlib.suppress(OSError):
                by_name[names[tid]] += (cpu_seconds(worker, tid) - spent) / elapsed
        emulated = sum(share for name, share in by_name.items() if name.startswith(EMULATION_THREADS))
        print(
            f"idle: emulation threads {emulated * 100:.2f} %, every other thread "
            f"{(busy - emulated) * 100:.2f} % of a core; by thread: "
            + ", ".join(f"{name} {share * 100:.2f}" for name, share in by_name.most_common(8))
        )
        with tempfile.NamedTemporaryFile(suffix=".txt") as out:
            subprocess.run(
                [spy, "record", "--pid", str(worker), "--duration", str(int(args.idle_seconds)),
                 "--rate", "200", "--format", "raw", "--output", out.name],
                check=True, capture_output=True, timeout=args.idle_seconds + 60,
            )  # fmt: skip
            emulation = product = waiting = 0
            places: collections.Counter[str] = collections.Counter()
            chips: collections.Counter[str] = collections.Counter()
            for line in Path(out.name).read_text().splitlines():
                stack, _, text = line.rpartition(" ")
                count = int(text)
                leaf = stack.split(";")[-1]
                if leaf.startswith(WAITS):
                    # Caught going into or out of a wait: no work of either side.
                    waiting += count
                elif "enviro_sensor/hardware/virtual/" in stack:
                    emulation += count
                    chips[next(f for f in stack.split(";") if "enviro_sensor/hardware/virtual/" in f)] += (
                        count
                    )
                else:
                    product += count
                    places[leaf] += count
        busy_samples = emulation + product
        if busy_samples:
            share = emulation / busy_samples
            print(
                f"idle: py-spy samples at work {busy_samples} (and {waiting} in a wait): emulation "
                f"{share * 100:.0f} %, so the product's own share is {busy * (1 - share) * 100:.2f} % of a core"
            )
            for place, count in places.most_common(6):
                print(f"idle:   product {count * 100 / busy_samples:4.1f} %  {place}")
            for place, count in chips.most_common(6):
                print(f"idle:   emulation, entered at {count * 100 / busy_samples:4.1f} %  {place}")


# --- /metrics -------------------------------------------------------------------


def scrape_cost(base: str, worker: int, scrapes: int) -> tuple[float, int, int]:
    """Worker CPU ms per scrape, series, bytes."""
    session = requests.Session()
    body = session.get(base + "/metrics", timeout=10).text
    before = cpu_seconds(worker)
    for _ in range(scrapes):
        session.get(base + "/metrics", timeout=10)
    ms = (cpu_seconds(worker) - before) * 1000 / scrapes
    series = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
    return ms, series, len(body)


def flood(base: str, count: int) -> None:
    """Requests of every kind, including paths no route matches."""
    session = requests.Session()
    routes = ["/healthz", "/api/sensors", "/api/sensors/weather", "/api/outputs", "/api/lcd"]
    chooser = random.Random(1)
    for number in range(count):
        if number % 4 == 0:
            path = f"/no/such/{chooser.randrange(10**9)}"
        elif number % 4 == 1:
            path = f"/api/sensors/i2c/unknown{chooser.randrange(10**9)}"
        else:
            path = chooser.choice(routes)
        with contextlib.suppress(requests.RequestException):
            session.get(base + path, timeout=10)


def metrics(args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None:
        print("metrics: needs wrk (Debian package wrk)")
        return
    with server({"ENVIRO_GAS_WARMUP": "0"}) as (base, process, _spawned):
        worker = worker_pid(process.pid)
        time.sleep(args.settle)
        routes = ["/healthz", "/metrics"]
        for route in routes:
            run_wrk(base + route, 2, 8, 1)
        rounds: dict[str, list[dict[str, float]]] = {route: [] for route in routes}
        for _ in range(args.rounds):
            for route in routes:
                rounds[route].append(run_wrk(base + route, args.seconds, 8, 1))
        median = {r: sorted(runs, key=lambda run: run["rps"])[len(runs) // 2] for r, runs in rounds.items()}
        for route, run in median.items():
            print(
                f"metrics: {route:<10} {run['rps']:8.1f} req/s  p50 {run['p50'] * 1e3:6.2f} ms  "
                f"p99 {run['p99'] * 1e3:6.2f} ms"
            )
        print(f"metrics: /metrics at {median['/metrics']['rps'] / median['/healthz']['rps']:.2f}x /healthz")
        served = sum(run["rps"] * args.seconds for runs in rounds.values() for run in runs)
        ms, series, size = scrape_cost(base, worker, args.scrapes)
        print(
            f"metrics: after ~{served:.0f} requests: {ms:.2f} ms CPU a scrape, {series} series, {size} bytes"
        )
        # Twice: the first flood brings the label sets unknown paths and
        # errors add (bounded: route templates, methods, statuses); the
        # second shows whether anything still grows with requests served.
        for flood_number in (1, 2):
            flood(base, args.flood)
            ms, series, size = scrape_cost(base, worker, args.scrapes)
            print(
                f"metrics: after flood {flood_number} of {args.flood} requests (half unknown paths): "
                f"{ms:.2f} ms CPU a scrape, {series} series, {size} bytes"
            )


# --- memory soak ----------------------------------------------------------------


def scraper(base: str, stop: threading.Event, scrapes: collections.Counter) -> None:
    """/metrics every 5 s, as Prometheus asks for it."""
    session = requests.Session()
    headers = {"Accept": "application/openmetrics-text; version=1.0.0", "Accept-Encoding": "gzip"}
    while not stop.wait(5):
        with contextlib.suppress(requests.RequestException):
            scrapes[session.get(base + "/metrics", headers=headers, timeout=10).status_code] += 1


def memory(args: argparse.Namespace) -> None:
    with server({"ENVIRO_GAS_WARMUP": "0"}) as (base, process, _spawned):
        worker = worker_pid(process.pid)
        soak = Soak(base, seed=7)
        scrapes: collections.Counter[int] = collections.Counter()
        threading.Thread(target=soak.reader, daemon=True).start()
        threading.Thread(target=soak.poster, daemon=True).start()
        threading.Thread(target=scraper, args=(base, soak.stop, scrapes), daemon=True).start()
        start = time.monotonic()
        marks = sorted({min(1.0, args.minutes), args.minutes})
        at: dict[float, dict[str, float]] = {}
        while True:
            elapsed = time.monotonic() - start
            sample = memory_figures(process.pid, worker)
            for mark in marks:
                if mark not in at and elapsed >= mark * 60 - 1:
                    at[mark] = sample
            print(
                f"memory: {elapsed / 60:4.1f} min  {memory_line(sample)}, {sample['threads']} threads",
                flush=True,
            )
            if elapsed >= args.minutes * 60:
                break
            waits = [mark * 60 - elapsed for mark in marks if mark not in at] + [30.0]
            time.sleep(max(0.0, min(waits)) + 0.01)
        soak.stop.set()
    for mark, sample in at.items():
        print(f"memory: after {mark:g} min: {memory_line(sample)}")
    print(
        f"memory: reads {dict(sorted(soak.statuses.items()))}, LCD posts {dict(sorted(soak.lcd.items()))}, "
        f"scrapes {dict(scrapes)}"
    )


PARTS = {"startup": startup, "idle": idle, "metrics": metrics, "memory": memory}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated: " + ", ".join(PARTS))
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the memory soak")
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=15.0, help="seconds after start before measuring")
    parser.add_argument("--startup-runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--flood", type=int, default=20000)
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="ENVIRO_NAME=VALUE",
        help="a setting for the service under test, e.g. ENVIRO_LCD=off (repeatable)",
    )
    args = parser.parse_args()
    for setting in args.setting:
        name, equals, value = setting.partition("=")
        if not equals or not name.startswith("ENVIRO_"):
            parser.error(f"--setting {setting!r}: expected ENVIRO_NAME=VALUE")
        EXTRA_SETTINGS[name] = value
    for part in args.parts.split(","):
        PARTS[part](args)


if __name__ == "__main__":
    main()
