"""Emulated Bosch BME280 temperature, pressure and humidity sensor.

On the Enviro+ it sits at I2C address 0x76 (SDO to ground), chip id 0x60
(datasheet BST-BME280-DS002 section 5.4.1). It sits above the Pi's CPU, so
it measures the board's air: warmer than the room, and drier in relative
terms for the same water content. A second one, on a breakout at 0x77
(SDO to VDDIO), would measure the same air.

``emulate(board, address)`` ("enviro_sensor.hardware.virtual.chips.bme280:emulate")
makes one for ``VirtualBoard.provide_i2c_chip``. Timing and compensation:
``enviro_sensor.hardware.virtual.chips.bosch``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from enviro_sensor.hardware.virtual.chips.bosch import (
    TYPICAL_BME280,
    BoschCalibration,
    BoschSensor,
    Measurand,
)

if TYPE_CHECKING:
    from enviro_sensor.hardware.virtual import VirtualBoard
    from enviro_sensor.hardware.virtual.environment import Conditions, Environment
    from enviro_sensor.hardware.virtual.faults import Faults

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
        environment: Environment,
        faults: Faults,
        address: int = ADDRESS,
        calibration: BoschCalibration = TYPICAL_BME280,
    ) -> None:
        super().__init__(environment, faults, address, calibration)

    def measurand(self, conditions: Conditions) -> Measurand:
        """The board's temperature and humidity, and the pressure."""
        return Measurand(
            conditions.temperature_celsius, conditions.pressure_pascals, conditions.humidity_percent
        )


def emulate(board: VirtualBoard, address: int = ADDRESS) -> BME280Chip:
    """A BME280 at ``address`` with a typical part's calibration, on the board's model and faults."""
    return BME280Chip(board.environment, board.faults, address)
