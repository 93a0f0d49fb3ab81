"""A process for the history's crash and full-disk tests, run by tests/test_history_faults.py.

``write <dir> <values>``: writes batches of ``values`` values as fast as it
can, printing the number of batches committed after each, until killed.
``full <dir>``: a service on the virtual board whose files may not grow
past a few kB (RLIMIT_FSIZE: writes fail as on a full disk), printing what
its routes say as one JSON line.
"""

from __future__ import annotations

import json
import resource
import signal
import sys
from pathlib import Path

from enviro_sensor.history.database import path_in
from enviro_sensor.history.writer import HistoryWriter, Limits

# Bounded, though the test kills the process long before.
MAX_BATCHES = 1_000_000


def write(data_dir: str, values: int) -> None:
    writer = HistoryWriter(path_in(data_dir), Limits(7, 400, 10**9), "x")
    start = 1_700_000_000.0
    for batch in range(MAX_BATCHES):
        rows = [
            ("bme280", "temperature_celsius", start + batch * values + i, 20.0 + i % 7) for i in range(values)
        ]
        writer.write(rows, [])
        print(batch + 1, flush=True)


def full(data_dir: str) -> None:
    from tests.sensor_support import PolledApp

    polled = PolledApp(data_dir=data_dir, history_flush=10.0)
    polled.poll("weather")
    polled.service.outputs.output("history").flush()  # the file and a first batch exist
    # From here no file may grow: a full disk, as the kernel reports it (EFBIG).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    size = max(p.stat().st_size for p in Path(data_dir).iterdir())
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))
    for _ in range(60):
        polled.clock.advance(1.0)
        polled.poll("weather")
    outputs = polled.client.get("/api/outputs").get_json()["result"]["outputs"]
    weather = polled.client.get("/api/sensors/weather")
    up = [s for s in polled.metric_samples() if s.name == "enviro_output_up"]
    print(
        json.dumps(
            {
                "history": outputs["history"],
                "weather_status": weather.status_code,
                "output_up": {s.labels["output"]: s.value for s in up},
            }
        ),
        flush=True,
    )
    polled.close()


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], int(sys.argv[3]))
    else:
        full(sys.argv[2])
