"""Emulated Bosch BME280 temperature, pressure and humidity sensor.

On the Enviro+ it sits at I2C address 0x76 (SDO to ground), chip id 0x60
(datasheet BST-BME280-DS002 section 5.4.1). It sits above the Pi's CPU, so
it measures the board's air: warmer than the room, and drier in relative
terms for the same water content.
"""

from __future__ import annotations

from hardware.virtual.chips.bosch import TYPICAL_BME280, BoschCalibration, BoschSensor, Measurand

ADDRESS = 0x76
CHIP_ID = 0x60


class BME280Chip(BoschSensor):
    """A BME280 at 0x76 measuring the air the board warms."""

    name = "bme280"
    chip_id = CHIP_ID
    wrong_id = 0x58  # what a BMP280 fitted in its place answers
    has_humidity = True

    def __init__(
        self,
        environment,
        faults,
        address: int = ADDRESS,
        calibration: BoschCalibration = TYPICAL_BME280,
    ) -> None:
        super().__init__(environment, faults, address, calibration)

    def measurand(self, conditions) -> Measurand:
        """The board's temperature and humidity, and the pressure."""
        return Measurand(
            conditions.temperature_celsius, conditions.pressure_pascals, conditions.humidity_percent
        )
