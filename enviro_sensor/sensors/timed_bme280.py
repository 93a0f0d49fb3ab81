"""The vendor's BME280 driver, sleeping through a forced measurement instead of polling it.

Imported where the part is opened (``enviro_sensor.sensors.bme280``), so that the table
of sensor kinds brings no driver with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import bme280

# One forced measurement at x1 oversampling of all three takes at most
# (datasheet BST-BME280-DS002, section 9.1) 1.25 + 2.3 (temperature)
# + 2.3 + 0.575 (pressure) + 2.3 + 0.575 (humidity) ms.
MEASUREMENT_SECONDS = (1.25 + 2.3 + 2 * (2.3 + 0.575)) / 1000


class TimedBME280(bme280.BME280):
    """``bme280.BME280`` with a clock's sleep for a forced measurement at x1 oversampling.

    ``BME280.update_sensor`` starts a forced measurement and reads the status
    register every millisecond until it ends (about nine reads and wake-ups
    at x1 oversampling). Here the driver sleeps the datasheet's longest
    measurement time once on the reader's clock, then reads the status as the
    vendor does (once, when the time is up). Reading the data and compensating it are the
    vendor's.
    """

    def __init__(self, sleep: Callable[[float], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sleep = sleep

    def update_sensor(self) -> None:
        self.setup()
        if self._mode != "forced":
            super().update_sensor()
            return
        self._bme280.set("CTRL_MEAS", mode="forced")
        self._sleep(MEASUREMENT_SECONDS)
        # A measurement still running past the datasheet's time (a longer
        # oversampling, a chip in trouble) is waited for the vendor's way, in
        # real time: the reader's clock is not moved by a chip that never ends.
        while self._bme280.get("STATUS").measuring:
            time.sleep(0.001)
        raw = self._bme280.get("DATA")
        self.temperature = self.calibration.compensate_temperature(raw.temperature)
        self.pressure = self.calibration.compensate_pressure(raw.pressure) / 100.0
        self.humidity = self.calibration.compensate_humidity(raw.humidity)
