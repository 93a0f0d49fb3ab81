"""Weather: the BME280 and the LTR559 on the Enviro+'s I2C bus.

- Bosch BME280 at 0x76 (datasheet BST-BME280-DS002): temperature -40..85 C,
  pressure 300..1100 hPa, humidity 0..100 %RH. Read through pimoroni-bme280.
  Published raw and corrected for the Pi's CPU heat (retrievers.compensation).
- Lite-On LTR-559ALS-01 at 0x23 (datasheet DS86-2013-0003): illuminance
  0.01..64k lux, proximity an 11-bit count (0..2047; larger is nearer).
  Read through the ltr559 package.
"""

from __future__ import annotations

import logging
import time

import bme280
import ltr559

from retrievers import quantities
from retrievers.base import Field, SensorReader
from retrievers.compensation import RecentAverage, compensated_humidity, compensated_temperature

log = logging.getLogger(__name__)

BME280_ADDRESS = 0x76
ALS_FULL_SCALE = 0xFFFF
FIRST_MEASUREMENT_SECONDS = 0.15


class LightSaturated(ValueError):
    """The light sensor's counts are at full scale: no lux can be derived."""


class BME280Reader(SensorReader):
    """Temperature, pressure and humidity, raw and CPU-heat compensated."""

    name = "bme280"
    description = "Bosch BME280 temperature, pressure and humidity at 0x76"
    fields = (
        # The examples show a Pi's heat: the raw reading runs warmer and drier than the room.
        quantities.temperature(example=27.9),
        Field(
            "temperature_compensated_celsius",
            -40.0,
            85.0,
            "enviro_temperature_compensated_celsius",
            "Room temperature: the sensor's reading corrected for the Raspberry Pi's CPU heat.",
            optional=True,
            example=21.3,
        ),
        quantities.pressure(),
        quantities.humidity(example=38.0),
        Field(
            "humidity_compensated_percent",
            0.0,
            100.0,
            "enviro_humidity_compensated_ratio",
            "Relative humidity at the compensated room temperature, same dew point (0 to 1).",
            scale=0.01,
            optional=True,
            example=55.1,
        ),
    )

    def __init__(self, temperature_factor: float = 2.25, cpu_samples: int = 5) -> None:
        self.temperature_factor = temperature_factor
        self._cpu = RecentAverage(cpu_samples)
        self._board = None
        self._driver = None

    def open(self, board) -> None:
        driver = bme280.BME280(i2c_addr=BME280_ADDRESS, i2c_dev=board.i2c_bus(1))
        # Forced mode: one conversion per poll, the datasheet's recommendation
        # for weather monitoring (section 3.5.1); the chip sleeps in between.
        driver.setup(
            mode="forced", temperature_oversampling=1, pressure_oversampling=1, humidity_oversampling=1
        )
        self._board, self._driver = board, driver

    def read(self) -> dict[str, float]:
        self._driver.update_sensor()
        raw_t, raw_h = self._driver.temperature, self._driver.humidity
        values = {
            "temperature_celsius": raw_t,
            "pressure_hectopascals": self._driver.pressure,
            "humidity_percent": raw_h,
        }
        try:
            cpu = self._cpu.add(self._board.cpu_temperature())
        except OSError as err:
            # Without the CPU's temperature only the raw values are honest.
            log.debug("no CPU temperature: %s", err)
            return values
        room = compensated_temperature(raw_t, cpu, self.temperature_factor)
        values["temperature_compensated_celsius"] = room
        if 0.0 <= raw_h <= 100.0:
            values["humidity_compensated_percent"] = compensated_humidity(raw_t, raw_h, room)
        return values

    def close(self) -> None:
        self._driver = None


class LTR559Reader(SensorReader):
    """Ambient light and proximity."""

    name = "ltr559"
    description = "Lite-On LTR-559 light and proximity at 0x23"
    fields = (
        Field(
            "illuminance_lux",
            0.0,
            64000.0,
            "enviro_illuminance_lux",
            "Ambient light in lux.",
            example=180.0,
        ),
        Field(
            "proximity",
            0,
            2047,
            "enviro_proximity",
            "Proximity as the LTR559's raw 11-bit count (0 to 2047, larger is nearer; no unit).",
            example=3,
        ),
    )

    def __init__(self, sleep=time.sleep) -> None:
        self._sleep = sleep
        self._driver = None

    def open(self, board) -> None:
        driver = ltr559.LTR559(i2c_dev=board.i2c_bus(1))
        # Until its first conversion ends the driver holds zeros, which would
        # read as darkness: wait out one measurement period (the driver sets
        # 50 ms integration, 50 ms repeat; proximity every 100 ms).
        self._sleep(FIRST_MEASUREMENT_SECONDS)
        self._driver = driver

    def read(self) -> dict[str, float]:
        # One status read decides which channels hold new data, then both are read.
        self._driver.update_sensor()
        if ALS_FULL_SCALE in self._driver.get_raw_als(passive=True):
            # A saturated channel makes the lux formula meaningless (the
            # datasheet's range shrinks with gain: 64k lux at 1x, 16k at 4x).
            raise LightSaturated("LTR559 light channel saturated")
        return {
            "illuminance_lux": self._driver.get_lux(passive=True),
            "proximity": self._driver.get_proximity(passive=True),
        }

    def error_reason(self, err: BaseException) -> str | None:
        return "invalid_reading" if isinstance(err, LightSaturated) else None

    def close(self) -> None:
        self._driver = None
