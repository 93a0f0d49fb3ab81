"""Emulated Bosch BMP280 temperature and pressure sensor.

An extra breakout on the I2C header, by default at 0x77 (SDO to VDDIO),
chip id 0x58 (datasheet BST-BMP280-DS001 section 4.3.1). It has the BME280's
temperature and pressure but no humidity, and its standby times 6 and 7 are
2 s and 4 s (section 3.6.3). Away from the board, it measures the room.

``emulate(board, address)`` ("enviro_sensor.hardware.virtual.chips.bmp280:emulate")
makes one for ``VirtualBoard.provide_i2c_chip``, at 0x76 or 0x77 as the
breakout's SDO pin chooses. Timing and compensation:
``enviro_sensor.hardware.virtual.chips.bosch``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from enviro_sensor.hardware.virtual.chips.bosch import (
    TYPICAL_BMP280,
    BoschCalibration,
    BoschSensor,
    Measurand,
)

if TYPE_CHECKING:
    from enviro_sensor.hardware.virtual import VirtualBoard
    from enviro_sensor.hardware.virtual.environment import Conditions, Environment
    from enviro_sensor.hardware.virtual.faults import Faults

ADDRESS = 0x77
CHIP_ID = 0x58


class BMP280Chip(BoschSensor):
    """A BMP280 on the header, measuring the room."""

    name = "bmp280"
    chip_id = CHIP_ID
    wrong_id = 0x60  # what a BME280 fitted in its place answers
    has_humidity = False
    standby_ms = (0.5, 62.5, 125, 250, 500, 1000, 2000, 4000)

    def __init__(
        self,
        environment: Environment,
        faults: Faults,
        address: int = ADDRESS,
        calibration: BoschCalibration = TYPICAL_BMP280,
    ) -> None:
        super().__init__(environment, faults, address, calibration)

    def measurand(self, conditions: Conditions) -> Measurand:
        """The room's temperature, and the pressure."""
        return Measurand(conditions.room_temperature_celsius, conditions.pressure_pascals)


def emulate(board: VirtualBoard, address: int = ADDRESS) -> BMP280Chip:
    """A BMP280 at ``address`` with a typical part's calibration, on the board's model and faults."""
    return BMP280Chip(board.environment, board.faults, address)
