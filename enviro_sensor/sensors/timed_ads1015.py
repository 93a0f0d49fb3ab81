"""The vendor's ADS1015 driver, sleeping through a conversion instead of polling it.

Imported where a part on the ADC is opened (``enviro_sensor.sensors.mics6814``), so
that the table of sensor kinds brings no driver with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ads1015

# A conversion takes 1/DR; the internal oscillator lets DR run up to 10 %
# slow (datasheet SBAS473, "data rate variation").
CONVERSION_TIME_MARGIN = 1.1


class TimedADS1015(ads1015.ADS1015):
    """``ads1015.ADS1015`` with a clock's sleep for the conversion time.

    ``ADS1015.get_voltage`` starts a single-shot conversion, then
    ``wait_for_conversion`` reads the config register for the OS bit at once
    and every millisecond after (a conversion is 0.6 ms at 1600 SPS: two
    reads and a wake-up), and ``get_programmable_gain`` reads the register
    once more. Here the wait first sleeps the conversion's time at the rate
    this driver set, then leaves the vendor's loop to confirm it (one read),
    and the gain is the one this driver set. The conversion, its result
    and the arithmetic from code to volts are the vendor's.
    """

    def __init__(self, sleep: Callable[[float], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sleep = sleep
        self._gain: float | None = None
        self._conversion_seconds = 0.0

    def set_programmable_gain(self, value: float = 2.048) -> None:
        super().set_programmable_gain(value)
        self._gain = value

    def get_programmable_gain(self) -> float:
        return self._gain if self._gain is not None else super().get_programmable_gain()

    def set_sample_rate(self, value: int = 1600) -> None:
        super().set_sample_rate(value)
        self._conversion_seconds = CONVERSION_TIME_MARGIN / value

    def wait_for_conversion(self, timeout: float = 10) -> None:
        self._sleep(self._conversion_seconds)
        super().wait_for_conversion(timeout)
