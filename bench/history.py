"""The history's figures: a year's size on disk, query and export times, disk writes per hour.

``python -m bench.history`` (from the checkout, in .venv) prints:

1. the size of the SQLite file holding a year of generated readings at the
   default intervals and retention: the last ENVIRO_HISTORY_RAW_DAYS of raw
   values at every group's interval, and 5-minute rollups for the rest;
2. the time of a 7-day query at a 5-minute step (one field, then every field
   of the PMS5003) through the Flask route;
3. the time and peak memory of a full export (all of it, CSV, streamed);
4. the disk writes per hour of the running service (gunicorn on the virtual
   board at the default settings), from the kernel's count for its worker
   (``/proc/<pid>/io``), over ``--minutes`` of real time.

Generated values follow a daily swing; their size on disk barely depends on
the values.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from enviro_sensor.hardware.virtual import ManualClock  # noqa: E402
from enviro_sensor.history.database import BUCKET_SECONDS, path_in  # noqa: E402
from enviro_sensor.history.writer import HistoryWriter, Limits  # noqa: E402
from enviro_sensor.sensors.config import build_groups  # noqa: E402
from enviro_sensor.settings import load_settings  # noqa: E402
from enviro_sensor.web.app import create_app  # noqa: E402
from tests.servers import serve_command  # noqa: E402

DAY = 86400
NOW = 1_767_225_600.0  # 2026-01-01, the end of the generated year


def _fields() -> list[tuple[str, str, float]]:
    """(sensor, field, interval) of every default sensor field."""
    settings = load_settings({})
    return [
        (sensor.name, field.key, group.interval)
        for group in build_groups(settings)
        if group.enabled
        for sensor in group.sensors
        for field in sensor.fields
    ]


def generate_year(data_dir: Path, raw_days: float, days: int) -> tuple[int, int]:
    """Write a year as the service would have kept it; (raw values, rollup rows) written."""
    limits = Limits(raw_days=raw_days, days=400, max_bytes=10**12)
    writer = HistoryWriter(path_in(data_dir), limits, "bench")
    fields = _fields()
    raw_written = rollups = 0
    start = NOW - days * DAY
    raw_from = NOW - raw_days * DAY
    day = start
    while day < NOW:
        values = []
        if day + DAY <= raw_from:
            # Expired raw values leave one rollup row per field and bucket:
            # one value per bucket makes the same rows.
            for bucket in range(int(day), int(day + DAY), BUCKET_SECONDS):
                swing = math.sin(2 * math.pi * (bucket % DAY) / DAY)
                values.extend((s, f, float(bucket), round(20 + 3 * swing, 2)) for s, f, _ in fields)
            rollups += len(values)
        else:
            for sensor, field, interval in fields:
                t = day
                while t < day + DAY:
                    values.append(
                        (sensor, field, t, round(20 + 3 * math.sin(2 * math.pi * (t % DAY) / DAY), 2))
                    )
                    t += interval
            raw_written += len(values)
        writer.write(values, [])
        day += DAY
    writer.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    writer.close()
    return raw_written, rollups


def timed(client, url: str, repeat: int = 5) -> tuple[float, int]:
    best = math.inf
    size = 0
    for _ in range(repeat):
        started = time.perf_counter()
        reply = client.get(url)
        size = len(reply.get_data())
        assert reply.status_code == 200, reply.get_data(as_text=True)[:300]
        best = min(best, time.perf_counter() - started)
    return best, size


def queries(data_dir: Path) -> None:
    clock = ManualClock(NOW)
    settings = load_settings({}, overrides={"board": "virtual", "data_dir": str(data_dir), "lcd": "off"})
    app = create_app(settings, clock=clock)
    client = app.test_client()
    seconds, size = timed(client, "/api/history?sensor=bme280&field=temperature_celsius&since=-7d&step=300")
    print(f"7-day query, one field, 5-minute step: {seconds * 1000:.1f} ms ({size / 1024:.0f} kB of JSON)")
    seconds, size = timed(client, "/api/history?sensor=pms5003&since=-7d&step=300")
    print(
        f"7-day query, 12 PMS5003 fields, 5-minute step: {seconds * 1000:.1f} ms ({size / 1024:.0f} kB of JSON)"
    )
    seconds, size = timed(client, "/api/history?sensor=bme280&field=temperature_celsius&since=-3d&step=60", 3)
    print(f"3-day query, one field, 1-minute step (raw values): {seconds * 1000:.1f} ms")
    rss_before = _rss_mb()
    started = time.perf_counter()
    reply = client.get("/api/history/export?since=-400d&format=csv")
    rows = exported = 0
    for chunk in reply.response:
        exported += len(chunk)
        rows += chunk.count("\n") if isinstance(chunk, str) else chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    print(
        f"full export (CSV, streamed): {rows:,} rows, {exported / 1e6:.0f} MB in {elapsed:.1f} s, "
        f"{rows / elapsed:,.0f} rows/s; resident memory {rss_before:.0f} MB before, {_rss_mb():.0f} MB after"
    )


def _rss_mb() -> float:
    """Resident memory now (VmRSS), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def _worker_pid(master: int) -> int | None:
    children = Path(f"/proc/{master}/task/{master}/children")
    text = children.read_text().split() if children.exists() else []
    return int(text[0]) if text else None


def _written(pid: int) -> tuple[int, int]:
    fields = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return int(fields["write_bytes"]), int(fields["wchar"])


def disk_writes(minutes: float) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ENVIRO_")}
        env.update(
            ENVIRO_HOST="127.0.0.1", ENVIRO_PORT="18799", ENVIRO_BOARD="virtual", ENVIRO_DATA_DIR=data_dir
        )
        process = subprocess.Popen(
            serve_command(),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            worker = None
            while worker is None and time.monotonic() < deadline:
                time.sleep(0.5)
                worker = _worker_pid(process.pid)
            assert worker is not None, "no gunicorn worker"
            time.sleep(70)  # past the first batch and the start-up writes
            before, before_logical = _written(worker)
            time.sleep(minutes * 60)
            after, after_logical = _written(worker)
        finally:
            process.terminate()
            process.wait(30)
    per_hour = (after - before) * 60 / minutes
    logical = (after_logical - before_logical) * 60 / minutes
    print(
        f"disk writes of the running service: {per_hour / 1e6:.1f} MB/hour to the block device "
        f"({logical / 1e6:.1f} MB/hour written by the process), measured over {minutes:g} min"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365, help="days of history to generate")
    parser.add_argument("--minutes", type=float, default=5, help="minutes to watch the running service")
    parser.add_argument("--skip-service", action="store_true", help="leave out the disk-writes measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        started = time.perf_counter()
        raw, rollups = generate_year(Path(data_dir), 7, args.days)
        size = path_in(data_dir).stat().st_size
        print(
            f"a year of history ({args.days} days, defaults: 7 days raw, 5-minute rollups): "
            f"{size / 1e6:.0f} MB on disk ({raw:,} raw values, {rollups:,} rollup rows; "
            f"generated in {time.perf_counter() - started:.0f} s)"
        )
        queries(Path(data_dir))
    if not args.skip_service:
        disk_writes(args.minutes)
    print(
        f"peak resident memory of this benchmark: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
