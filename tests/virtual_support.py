"""Constants and helpers the virtual-board tests share."""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator

from enviro_sensor.hardware.virtual import ManualClock

# 09:00 UTC on 15 November 2023: daylight in the model's room.
MORNING = 1_700_038_800.0

# Board arguments for tests that read the PMS5003: a frame every 10 ms after
# 20 ms of start-up (the real sensor: 1 s each), so a driver's read takes
# milliseconds, even on a ManualClock that nobody advances meanwhile.
FAST_PMS5003 = {"pms5003_frame_interval": 0.01, "pms5003_startup": 0.02, "pms5003_spin_up": 0.02}


class ClockTime:
    """Stands in for the ``time`` module a vendor driver imported: its sleeps move a test's clock.

    The drivers' own waits (st7735's reset and init, the ads1015's polling
    of a conversion) then take no real time, and what they measure is the
    clock's time, not the machine's speed.
    """

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock

    def time(self) -> float:
        return self.clock.now()

    def monotonic(self) -> float:
        return self.clock.monotonic()

    def sleep(self, seconds: float) -> None:
        self.clock.sleep(seconds)


@contextlib.contextmanager
def driver_on_clock(module: types.ModuleType, clock: ManualClock) -> Iterator[None]:
    """A vendor driver ``module``'s ``time.time`` and ``time.sleep`` on ``clock`` while inside."""
    saved = module.time
    module.time = ClockTime(clock)
    try:
        yield
    finally:
        module.time = saved


def detected_type(adc, board) -> str:
    """The ads1015 driver's ADS1015/ADS1115 detection, timed on the board's clock.

    The driver times ten conversions with its module's ``time``: on the
    machine's clock, a busy machine makes an ADS1015 look as slow as an
    ADS1115 (its polls wake late). On the board's clock the driver's 1 ms
    polls move the time the emulated conversion follows.
    """
    import ads1015

    with driver_on_clock(ads1015, board.clock):
        return adc.detect_chip_type()
