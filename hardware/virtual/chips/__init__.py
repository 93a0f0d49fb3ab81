"""Register-level emulations of the chips on the Enviro+ and its I2C header.

One module per chip; each answers the transfers ``hardware.virtual.i2c``
delivers, from the environment model, and honours the faults set for it.
"""

from hardware.virtual.chips.ads1015 import ADS1015Chip
from hardware.virtual.chips.aht10 import AHT10Chip
from hardware.virtual.chips.bme280 import BME280Chip
from hardware.virtual.chips.bmp280 import BMP280Chip
from hardware.virtual.chips.ltr559 import LTR559Chip
from hardware.virtual.chips.mics6814 import MICS6814

__all__ = ["MICS6814", "ADS1015Chip", "AHT10Chip", "BME280Chip", "BMP280Chip", "LTR559Chip"]
