"""Bosch BME280 on the Enviro+'s I2C bus 1 at 0x76 (weather group).

Datasheet BST-BME280-DS002: temperature -40..85 C, pressure 300..1100 hPa,
humidity 0..100 %RH. Read through pimoroni-bme280. Published raw and
corrected for the Pi's CPU heat (retrievers.compensation).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from enviro_sensor.config import parsers
from enviro_sensor.config.declarations import Setting, declare
from enviro_sensor.sensors import quantities
from enviro_sensor.sensors.base import Field, SensorReader
from enviro_sensor.sensors.compensation import RecentAverage, compensated_humidity, compensated_temperature
from enviro_sensor.sensors.registry import SensorKind, register_kind

if TYPE_CHECKING:
    from enviro_sensor.clocks import Clock
    from enviro_sensor.hardware.board import Board
    from enviro_sensor.sensors.config import Sensor
    from enviro_sensor.sensors.timed_bme280 import TimedBME280

log = logging.getLogger(__name__)

BME280_ADDRESS = 0x76
# CPU temperatures averaged for the compensation, as Pimoroni's examples do.
CPU_SAMPLES = 5
# x1 oversampling of all three: the datasheet's (section 3.5.1) choice for
# weather monitoring, and the shortest measurement.
OVERSAMPLING = 1

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
        label="Temperature (compensated)",
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
        label="Humidity (compensated)",
        device_class="humidity",
        unit="%",
    ),
)


@dataclasses.dataclass(frozen=True)
class BME280Options:
    """How strongly the CPU's heat is taken out of the BME280's temperature."""

    temperature_factor: float


SETTINGS = declare(
    "bme280",
    BME280Options,
    Setting(
        "temperature_factor",
        "2.25",
        parsers.number(0.5, 100),
        "CPU-heat compensation factor: lower means a stronger correction (vendor examples: 2.25)",
    ),
    prefix="",
)


class BME280Reader(SensorReader):
    """Temperature, pressure and humidity, raw and CPU-heat compensated."""

    def __init__(self, sensor: Sensor, options: BME280Options, clock: Clock) -> None:
        super().__init__(sensor, options, clock)
        self.temperature_factor = options.temperature_factor
        self._cpu = RecentAverage(CPU_SAMPLES)
        self._board: Board | None = None
        self._driver: TimedBME280 | None = None

    def open(self, board: Board) -> None:
        # Imported with the part, not with the table of kinds: gunicorn's
        # master reads the table (settings) and never opens a part.
        from enviro_sensor.sensors.timed_bme280 import TimedBME280

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
        settings=SETTINGS,
        address=BME280_ADDRESS,
        on_board=True,
        emulation="enviro_sensor.hardware.virtual.chips.bme280:emulate",
    )
)
