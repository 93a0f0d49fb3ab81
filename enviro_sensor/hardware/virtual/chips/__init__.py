"""Register-level emulations of the chips on the Enviro+ and its I2C header.

One module per chip; each answers the transfers ``enviro_sensor.hardware.virtual.i2c``
delivers, from the environment model, and honours the faults set for it.

Each I2C chip module has a factory ``emulate(board, address) -> chip``, so
that ``VirtualBoard.provide_i2c_chip`` can put one at any address, given the
factory or its import string (imported only when a chip is provided):

- "enviro_sensor.hardware.virtual.chips.ads1015:emulate" (ADS1015 reading the MiCS-6814)
- "enviro_sensor.hardware.virtual.chips.aht10:emulate"
- "enviro_sensor.hardware.virtual.chips.bme280:emulate"
- "enviro_sensor.hardware.virtual.chips.bmp280:emulate"
- "enviro_sensor.hardware.virtual.chips.ltr559:emulate"
- "enviro_sensor.hardware.virtual.chips.scd4x:emulate" (an SCD41; ``scd4x:emulate_scd40`` an SCD40)
- "enviro_sensor.hardware.virtual.chips.sgp40:emulate"
- "enviro_sensor.hardware.virtual.chips.bme680:emulate"

Parts that are not on the board declare their faults when imported, which
this package does for them.

The MiCS-6814 is no I2C chip: the ADS1015 measures it.
"""

from enviro_sensor.hardware.virtual.chips.ads1015 import ADS1015Chip
from enviro_sensor.hardware.virtual.chips.aht10 import AHT10Chip
from enviro_sensor.hardware.virtual.chips.bme280 import BME280Chip
from enviro_sensor.hardware.virtual.chips.bme680 import BME680Chip
from enviro_sensor.hardware.virtual.chips.bmp280 import BMP280Chip
from enviro_sensor.hardware.virtual.chips.ltr559 import LTR559Chip
from enviro_sensor.hardware.virtual.chips.mics6814 import MICS6814
from enviro_sensor.hardware.virtual.chips.scd4x import SCD4xChip
from enviro_sensor.hardware.virtual.chips.sgp40 import SGP40Chip

__all__ = [
    "MICS6814",
    "ADS1015Chip",
    "AHT10Chip",
    "BME280Chip",
    "BME680Chip",
    "BMP280Chip",
    "LTR559Chip",
    "SCD4xChip",
    "SGP40Chip",
]
