"""What the gas baseline and the air quality index cost per reading, and on the card.

Feeds ``enviro_sensor.sensors.gas_baseline.GasBaseline`` and
``enviro_sensor.sensors.air_quality.AirQualityIndex`` a week of simulated readings at
their groups' default intervals (gas every 2 s, particulates every 5 s)
into a temporary ENVIRO_DATA_DIR, timing every ``derive`` call, and
prints: the mean and 99th percentile time of a call with a full window, the
number of file writes over the week, and the size of each file. Asserts
nothing.

Run: ``.venv/bin/python bench/derivations.py [--days 7]``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from enviro_sensor.sensors.air_quality import AirQualityIndex  # noqa: E402
from enviro_sensor.sensors.gas_baseline import CLEAN_SIDE, GasBaseline  # noqa: E402
from enviro_sensor.sensors.saved_state import SavedState  # noqa: E402

START = 1_700_000_000.0


class CountingState(SavedState):
    """Counts the writes that reach the card."""

    writes = 0

    def save(self, document, now=None):  # type: ignore[no-untyped-def]
        if self.path is not None:
            self.writes += 1
        super().save(document, now)


def run(name: str, derivation, state: CountingState, interval: float, days: float, values_at) -> None:
    timings = []
    steps = int(days * 86400 / interval)
    for step in range(steps):
        at = START + step * interval
        began = time.perf_counter()
        derivation.derive(values_at(at), at)
        timings.append(time.perf_counter() - began)
    derivation.close()
    last_day = sorted(timings[-int(86400 / interval) :])
    size = state.path.stat().st_size if state.path is not None else 0
    print(
        f"{name}: {steps} readings over {days:g} days every {interval:g} s; "
        f"derive on the last day: mean {statistics.fmean(last_day) * 1e6:.1f} us, "
        f"p99 {last_day[int(len(last_day) * 0.99)] * 1e6:.1f} us, max {last_day[-1] * 1e6:.1f} us; "
        f"{state.writes} file writes; {state.path.name if state.path else '-'} {size} bytes"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=7.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        gas_state = CountingState(directory, "gas-baseline-mics6814.json", 600)
        gas = GasBaseline(tuple(CLEAN_SIDE), 7, gas_state)

        def gas_values(at: float) -> dict[str, float]:
            wave = math.sin(at / 86400 * 2 * math.pi)
            return {"oxidising_ohms": 20e3 * (1 - 0.1 * wave), "reducing_ohms": 4e5 * (1 + 0.2 * wave),
                    "nh3_ohms": 1.6e5 * (1 + 0.1 * wave)}  # fmt: skip

        run("gas baseline", gas, gas_state, 2.0, args.days, gas_values)
        air_state = CountingState(directory, "air-quality-pms5003.json", 600)
        air = AirQualityIndex(air_state)

        def pm_values(at: float) -> dict[str, float]:
            level = 8 + 6 * math.sin(at / 86400 * 2 * math.pi)
            return {"pm2_5_atmospheric_micrograms_per_cubic_meter": level,
                    "pm10_atmospheric_micrograms_per_cubic_meter": 1.5 * level}  # fmt: skip

        run("air quality index", air, air_state, 5.0, args.days, pm_values)


if __name__ == "__main__":
    main()
