"""The PMS5003's duty cycle on the virtual board: how long its fan really runs.

Runs the service's collector on a virtual board whose clock this script
moves (a ManualClock), polls the particulates group every ``--step``
seconds of board time for ``--hours`` hours with ``ENVIRO_PARTICULATES_DUTY``
set, and asks the emulated sensor after every step whether its fan turns.
Prints the fan's share of the time, the readings published, and what that
share makes of the laser's rated 8000 hours. Asserts nothing.

Run: ``.venv/bin/python bench/pms_duty.py --duty 30/300 --hours 6``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from enviro_sensor.hardware.virtual import ManualClock, VirtualBoard  # noqa: E402
from enviro_sensor.settings import load_settings  # noqa: E402
from enviro_sensor.web.app import create_app  # noqa: E402

LASER_HOURS = 8000.0  # Plantower's rated laser life, continuous
HOURS_PER_YEAR = 24 * 365.25


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duty", default="30/300", help="ENVIRO_PARTICULATES_DUTY (empty: always on)")
    parser.add_argument("--sleep", default="pin", choices=("pin", "serial"))
    parser.add_argument("--hours", type=float, default=6.0, help="hours of board time")
    parser.add_argument(
        "--step", type=float, default=2.0, help="seconds between polls (the group's interval)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    clock = ManualClock()
    board = VirtualBoard(
        seed=1, clock=clock, pms5003_frame_interval=0.01, pms5003_startup=0.02, pms5003_spin_up=30.0
    )
    environ = {"ENVIRO_PARTICULATES_DUTY": args.duty, "ENVIRO_PARTICULATES_SLEEP": args.sleep}
    settings = load_settings(
        environ, overrides={"lcd": "off", "gas_warmup": 0.0, "groups": ("particulates",)}
    )
    app = create_app(settings, board=board, registry=CollectorRegistry(), clock=clock)
    service = app.extensions["enviro"]
    service.open_board()
    service.outputs.start()
    client = app.test_client()
    fan_seconds = 0.0
    readings = 0
    last_time = None
    steps = int(args.hours * 3600 / args.step)
    try:
        for _ in range(steps):
            service.collector.poll("particulates")
            board.pms5003.catch_up()
            if board.pms5003.fan_running():
                fan_seconds += args.step
            service.outputs.drain(10)
            reply = client.get("/api/sensors/particulates/pms5003")
            if reply.status_code == 200:
                time = reply.get_json()["result"]["time"]
                if time != last_time:
                    readings, last_time = readings + 1, time
            clock.advance(args.step)
    finally:
        service.collector.stop()
        service.outputs.stop(5)
        board.close()
    share = fan_seconds / (steps * args.step)
    life_hours = LASER_HOURS / share if share else float("inf")
    print(
        f"duty {args.duty or 'none'} via {args.sleep}, {args.hours:g} h of board time, polled every {args.step:g} s"
    )
    print(f"fan running {share:.1%} of the time; {readings} readings published")
    print(
        f"8000 laser hours last {life_hours:,.0f} h = {life_hours / HOURS_PER_YEAR:.1f} years "
        f"(always on: {LASER_HOURS / HOURS_PER_YEAR:.2f} years)"
    )


if __name__ == "__main__":
    main()
