"""BMP280 temperature and pressure on smbus2 (no vendor library).

Bosch BMP280 datasheet (BST-BMP280-DS001): chip id 0x58 in register 0xD0,
trimming parameters dig_T1..dig_P9 in 0x88..0x9F (little endian), forced
mode via ctrl_meas 0xF4, status 0xF3 bit 3 "measuring", raw data 0xF7..0xFC
(20-bit pressure then temperature). Compensation: the datasheet's
floating-point formulas (section 8.1). Range -40..85 C, 300..1100 hPa.
"""

from __future__ import annotations

import dataclasses
import struct
from typing import TYPE_CHECKING, Any

from enviro_sensor.sensors import quantities
from enviro_sensor.sensors.base import SensorReader
from enviro_sensor.sensors.registry import SensorKind, register_kind

if TYPE_CHECKING:
    from enviro_sensor.hardware.board import Board

CHIP_ID_REGISTER = 0xD0
CHIP_ID = 0x58
BME280_CHIP_ID = 0x60
RESET_REGISTER = 0xE0
RESET_WORD = 0xB6
STATUS_REGISTER = 0xF3
STATUS_MEASURING = 0x08
CTRL_MEAS_REGISTER = 0xF4
# osrs_t x1, osrs_p x4, forced mode: the datasheet's "weather monitoring"
# row of table 7 uses x1/x1; x4 pressure costs 13 ms and gains resolution.
CTRL_MEAS_FORCED = (0b001 << 5) | (0b011 << 2) | 0b01
CALIBRATION_REGISTER = 0x88
DATA_REGISTER = 0xF7
MEASUREMENT_SECONDS = 0.015
BUSY_POLLS = 10


class BMP280Error(OSError):
    """The chip at the address is not a working BMP280."""


# dig_T1..dig_P9 as stored in 0x88..0x9F: unsigned T1 and P1, the rest signed.
CALIBRATION_FORMAT = "<HhhHhhhhhhhh"


@dataclasses.dataclass(frozen=True)
class Calibration:
    """Trimming parameters dig_T1..dig_P9, datasheet table 17."""

    t1: int
    t2: int
    t3: int
    p1: int
    p2: int
    p3: int
    p4: int
    p5: int
    p6: int
    p7: int
    p8: int
    p9: int

    @classmethod
    def from_registers(cls, block: bytes) -> Calibration:
        return cls(*struct.unpack(CALIBRATION_FORMAT, bytes(block[:24])))

    def registers(self) -> bytes:
        """The 24 bytes of 0x88..0x9F holding these words."""
        return struct.pack(
            CALIBRATION_FORMAT, *(getattr(self, f.name) for f in dataclasses.fields(Calibration))
        )


def compensate_temperature(cal, adc_t: int) -> tuple[float, float]:
    """Degrees Celsius and t_fine from a raw temperature (datasheet 8.1, double precision).

    ``cal`` is anything with the trimming words as attributes ``t1``..``t3``.
    """
    var1 = (adc_t / 16384.0 - cal.t1 / 1024.0) * cal.t2
    var2 = (adc_t / 131072.0 - cal.t1 / 8192.0) ** 2 * cal.t3
    t_fine = var1 + var2
    return t_fine / 5120.0, t_fine


def compensate_pressure(cal, adc_p: int, t_fine: float) -> float:
    """Pascals from a raw pressure at temperature ``t_fine`` (datasheet 8.1, double precision)."""
    var1 = t_fine / 2.0 - 64000.0
    var2 = var1 * var1 * cal.p6 / 32768.0
    var2 = var2 + var1 * cal.p5 * 2.0
    var2 = var2 / 4.0 + cal.p4 * 65536.0
    var1 = (cal.p3 * var1 * var1 / 524288.0 + cal.p2 * var1) / 524288.0
    var1 = (1.0 + var1 / 32768.0) * cal.p1
    if var1 == 0:
        raise BMP280Error("pressure compensation divides by zero (dig_P1 is 0)")
    pressure = 1048576.0 - adc_p
    pressure = (pressure - var2 / 4096.0) * 6250.0 / var1
    var1 = cal.p9 * pressure * pressure / 2147483648.0
    var2 = pressure * cal.p8 / 32768.0
    return pressure + (var1 + var2 + cal.p7) / 16.0


class BMP280Reader(SensorReader):
    """One forced-mode conversion per poll."""

    _bus: Any = None
    _calibration: Calibration | None = None

    def open(self, board: Board) -> None:
        bus = board.i2c_bus(self.sensor.bus)
        chip_id = bus.read_byte_data(self.address, CHIP_ID_REGISTER)
        if chip_id != CHIP_ID:
            hint = " (a BME280: list it as bme280)" if chip_id == BME280_CHIP_ID else ""
            raise BMP280Error(
                f"chip id 0x{chip_id:02x} at 0x{self.address:02x}, expected 0x{CHIP_ID:02x}{hint}"
            )
        bus.write_byte_data(self.address, RESET_REGISTER, RESET_WORD)
        self.clock.sleep(0.005)  # start-up time after reset: 2 ms
        self._calibration = Calibration.from_registers(
            bus.read_i2c_block_data(self.address, CALIBRATION_REGISTER, 24)
        )
        self._bus = bus

    def read(self) -> dict[str, float]:
        bus, calibration = self._bus, self._calibration
        assert bus is not None and calibration is not None, "read before open"
        bus.write_byte_data(self.address, CTRL_MEAS_REGISTER, CTRL_MEAS_FORCED)
        for _ in range(BUSY_POLLS):
            self.clock.sleep(MEASUREMENT_SECONDS)
            if not bus.read_byte_data(self.address, STATUS_REGISTER) & STATUS_MEASURING:
                break
        else:
            raise BMP280Error(f"BMP280 at 0x{self.address:02x} stayed busy")
        data = bus.read_i2c_block_data(self.address, DATA_REGISTER, 6)
        adc_p = (data[0] << 12) | (data[1] << 4) | (data[2] >> 4)
        adc_t = (data[3] << 12) | (data[4] << 4) | (data[5] >> 4)
        temperature, t_fine = compensate_temperature(calibration, adc_t)
        pascals = compensate_pressure(calibration, adc_p, t_fine)
        return {"temperature_celsius": temperature, "pressure_hectopascals": pascals / 100.0}

    def close(self) -> None:
        self._bus = None


KIND = register_kind(
    SensorKind(
        kind="bmp280",
        description="Bosch BMP280 temperature and pressure",
        fields=(quantities.temperature(), quantities.pressure()),
        group="i2c",
        reader=BMP280Reader,
        address=0x77,
        emulation="enviro_sensor.hardware.virtual.chips.bmp280:emulate",
    )
)
