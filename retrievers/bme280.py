"""Bosch BME280 on the Enviro+'s I2C bus 1 at 0x76 (weather group).

Datasheet BST-BME280-DS002: temperature -40..85 C, pressure 300..1100 hPa,
humidity 0..100 %RH. Read through pimoroni-bme280. Published raw and
corrected for the Pi's CPU heat (retrievers.compensation).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import bme280

from retrievers import quantities
from retrievers.base import Field, SensorReader
from retrievers.compensation import RecentAverage, compensated_humidity, compensated_temperature
from retrievers.registry import SensorKind, register_kind

if TYPE_CHECKING:
    from clocks import Clock
    from hardware.board import Board
    from retrievers.config import Sensor
    from settings import Settings

log = logging.getLogger(__name__)

BME280_ADDRESS = 0x76
# CPU temperatures averaged for the compensation, as Pimoroni's examples do.
CPU_SAMPLES = 5
# One forced measurement at x1 oversampling of all three takes at most
# (datasheet 9.1) 1.25 + 2.3 (temperature) + 2.3 + 0.575 (pressure)
# + 2.3 + 0.575 (humidity) ms.
OVERSAMPLING = 1
MEASUREMENT_SECONDS = (1.25 + 2.3 * OVERSAMPLING + 2 * (2.3 * OVERSAMPLING + 0.575)) / 1000

FIELDS = (
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
        device_class="temperature",
        unit="°C",
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
        device_class="humidity",
        unit="%",
    ),
)


class TimedBME280(bme280.BME280):
    """The vendor's BME280 driver, sleeping through a forced measurement instead of polling it.

    ``BME280.update_sensor`` starts a forced measurement and reads the status
    register every millisecond until it ends (about nine reads and wake-ups
    at x1 oversampling). Here the driver sleeps the datasheet's longest
    measurement time once, then reads the status as the vendor does (once,
    when the time is up). Reading the data and compensating it are the
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
        while self._bme280.get("STATUS").measuring:
            self._sleep(0.001)
        raw = self._bme280.get("DATA")
        self.temperature = self.calibration.compensate_temperature(raw.temperature)
        self.pressure = self.calibration.compensate_pressure(raw.pressure) / 100.0
        self.humidity = self.calibration.compensate_humidity(raw.humidity)


class BME280Reader(SensorReader):
    """Temperature, pressure and humidity, raw and CPU-heat compensated."""

    def __init__(self, sensor: Sensor, settings: Settings, clock: Clock) -> None:
        super().__init__(sensor, settings, clock)
        self.temperature_factor = settings.temperature_factor
        self._cpu = RecentAverage(CPU_SAMPLES)
        self._board: Board | None = None
        self._driver: TimedBME280 | None = None

    def open(self, board: Board) -> None:
        driver = TimedBME280(self.clock.sleep, i2c_addr=self.address, i2c_dev=board.i2c_bus(self.sensor.bus))
        # Forced mode: one conversion per poll, the datasheet's recommendation
        # for weather monitoring (section 3.5.1); the chip sleeps in between.
        driver.setup(
            mode="forced",
            temperature_oversampling=OVERSAMPLING,
            pressure_oversampling=OVERSAMPLING,
            humidity_oversampling=OVERSAMPLING,
        )
        self._board, self._driver = board, driver

    def read(self) -> dict[str, float]:
        assert self._driver is not None and self._board is not None, "read before open"
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


KIND = register_kind(
    SensorKind(
        kind="bme280",
        description="Bosch BME280 temperature, pressure and humidity",
        fields=FIELDS,
        group="weather",
        reader=BME280Reader,
        address=BME280_ADDRESS,
        on_board=True,
        emulation="hardware.virtual.chips.bme280:emulate",
    )
)
