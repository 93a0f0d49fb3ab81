"""Emulated Bosch BME680 temperature, pressure, humidity and gas sensor.

An extra breakout on the I2C header at 0x77 (SDO high; 0x76 is the
Enviro+'s BME280), chip id 0x61 in 0xD0, variant 0x00 (BME680; a BME688
says 0x01) in 0xF0 (datasheet BST-BME680-DS001). A register chip:

- 0xE0 reset (0xB6), 0x72 ctrl_hum (osrs_h), 0x74 ctrl_meas (osrs_t,
  osrs_p, mode: 01 forced starts one measurement, after which the chip
  sleeps again), 0x71 ctrl_gas_1 (run_gas, nb_conv), 0x5A res_heat_0 and
  0x64 gas_wait_0 (heater temperature and time: bits 5:0 times 1, 4, 16 or
  64 by bits 7:6, ms), 0x75 config (IIR filter: kept, not modelled; the
  reader turns it off);
- 0x1D meas_status_0 (bit 7 new data, bit 5 measuring, bit 6 gas
  measuring), 0x1F..0x21 pressure and 0x22..0x24 temperature (20 bits),
  0x25..0x26 humidity (16 bits), 0x2A..0x2B gas resistance (10 bits, bit 5
  gas_valid, bit 4 heat_stab, bits 3:0 gas_range);
- 0x89..0xA1 and 0xE1..0xF0 the calibration words, 0x00 res_heat_val,
  0x02 res_heat_range, 0x04 range_switching_error.

Encoding: the datasheet's floating-point compensation (section 3.3 and
3.4) inverted by bisection for the raw values of the room's temperature,
pressure and humidity; the gas resistance encoded with its range tables
(const_array1/2, section 3.4.1) in the range that keeps the ADC nearest
mid-scale. The gas resistance follows the room's VOCs (lower with more).

Time: a forced measurement lasts its datasheet time: 1.963 ms per
oversampling cycle, 4.3 ms of overhead, 1 ms wake-up, plus the heater's
time when the gas measurement runs (section 3.2.1), on a ``Stopwatch``.

Faults: absent, ioerror, intermittent on the bus; ``wrong-id`` (answers as
a BME280), ``stuck`` (never finishes), ``out-of-range`` (every raw value
at full scale, the gas measurement invalid).
"""

from __future__ import annotations

import dataclasses
import struct
from typing import TYPE_CHECKING

from enviro_sensor.hardware.virtual.chips.registers import RegisterChip
from enviro_sensor.hardware.virtual.clock import Stopwatch
from enviro_sensor.hardware.virtual.faults import register_device_faults

if TYPE_CHECKING:
    from enviro_sensor.hardware.virtual import VirtualBoard
    from enviro_sensor.hardware.virtual.environment import Environment
    from enviro_sensor.hardware.virtual.faults import Faults

ADDRESS = 0x77
CHIP_ID, VARIANT = 0x61, 0x00
BME280_CHIP_ID = 0x60
REG_CHIP_ID, REG_VARIANT, REG_RESET = 0xD0, 0xF0, 0xE0
RESET_WORD = 0xB6
REG_STATUS = 0x1D
REG_CTRL_GAS_1, REG_CTRL_HUM, REG_CTRL_MEAS, REG_CONFIG = 0x71, 0x72, 0x74, 0x75
REG_RES_HEAT_0, REG_GAS_WAIT_0 = 0x5A, 0x64
NEW_DATA, GAS_MEASURING, MEASURING = 0x80, 0x40, 0x20
GAS_VALID, HEAT_STAB = 0x20, 0x10
FAULTS = ("absent", "ioerror", "wrong-id", "stuck", "out-of-range", "intermittent")
# Datasheet section 3.4.1: the gas range tables (floating-point versions).
CONST_ARRAY1 = (1, 1, 1, 1, 1, 0.99, 1, 0.992, 1, 1, 0.998, 0.995, 1, 0.99, 1, 1)
CONST_ARRAY2 = (
    8000000.0, 4000000.0, 2000000.0, 1000000.0, 499500.4995, 248262.1648, 125000.0, 63004.03226,
    31281.28128, 15625.0, 7812.5, 3906.25, 1953.125, 976.5625, 488.28125, 244.140625,
)  # fmt: skip
OVERSAMPLING = (0, 1, 2, 4, 8, 16, 16, 16)
# The heater reaches its target in about 20-30 ms (datasheet 3.3.5); shorter
# heating leaves heat_stab clear.
HEATER_SETTLE_MS = 20
# Clean air's gas resistance, ohms, and how it falls with VOCs.
CLEAN_GAS_OHMS, CLEAN_TVOC_PPB, GAS_EXPONENT = 150_000.0, 100.0, 0.7

register_device_faults("bme680", FAULTS)


@dataclasses.dataclass(frozen=True)
class BME680Calibration:
    """The trimming parameters (datasheet table 11/13), as one part of ours has them."""

    t1: int = 26203
    t2: int = 26564
    t3: int = 3
    p1: int = 36459
    p2: int = -10685
    p3: int = 88
    p4: int = 7040
    p5: int = -74
    p6: int = 30
    p7: int = 48
    p8: int = -3
    p9: int = -3326
    p10: int = 30
    h1: int = 776
    h2: int = 1017
    h3: int = 0
    h4: int = 45
    h5: int = 20
    h6: int = 120
    h7: int = -100
    gh1: int = -30
    gh2: int = -5969
    gh3: int = 18
    res_heat_range: int = 1
    res_heat_val: int = 44
    range_switching_error: int = 0

    def block1(self) -> bytes:
        """0x89..0xA1 (25 bytes)."""
        out = bytearray(25)
        struct.pack_into("<h", out, 1, self.t2)
        struct.pack_into("<b", out, 3, self.t3)
        struct.pack_into("<H", out, 5, self.p1)
        struct.pack_into("<h", out, 7, self.p2)
        struct.pack_into("<b", out, 9, self.p3)
        struct.pack_into("<h", out, 11, self.p4)
        struct.pack_into("<h", out, 13, self.p5)
        struct.pack_into("<b", out, 15, self.p7)
        struct.pack_into("<b", out, 16, self.p6)
        struct.pack_into("<h", out, 19, self.p8)
        struct.pack_into("<h", out, 21, self.p9)
        out[23] = self.p10 & 0xFF
        return bytes(out)

    def block2(self) -> bytes:
        """0xE1..0xF0 (16 bytes): H2 and H1 share 0xE2 (12 bits each)."""
        out = bytearray(16)
        out[0] = (self.h2 >> 4) & 0xFF
        out[1] = ((self.h2 & 0x0F) << 4) | (self.h1 & 0x0F)
        out[2] = (self.h1 >> 4) & 0xFF
        for offset, value in ((3, self.h3), (4, self.h4), (5, self.h5), (7, self.h7)):
            struct.pack_into("<b", out, offset, value)
        out[6] = self.h6 & 0xFF
        struct.pack_into("<H", out, 8, self.t1)
        struct.pack_into("<h", out, 10, self.gh2)
        struct.pack_into("<b", out, 12, self.gh1)
        struct.pack_into("<b", out, 13, self.gh3)
        return bytes(out)


TYPICAL = BME680Calibration()


# -- the datasheet's floating-point compensation (section 3.3) -------------------


def temperature(cal: BME680Calibration, adc_t: int) -> tuple[float, float]:
    """Degrees Celsius and t_fine from the raw temperature."""
    var1 = (adc_t / 16384.0 - cal.t1 / 1024.0) * cal.t2
    var2 = (adc_t / 131072.0 - cal.t1 / 8192.0) ** 2 * (cal.t3 * 16.0)
    t_fine = var1 + var2
    return t_fine / 5120.0, t_fine


def pressure(cal: BME680Calibration, adc_p: int, t_fine: float) -> float:
    """Pascals from the raw pressure."""
    var1 = t_fine / 2.0 - 64000.0
    var2 = var1 * var1 * (cal.p6 / 131072.0)
    var2 = var2 + var1 * cal.p5 * 2.0
    var2 = var2 / 4.0 + cal.p4 * 65536.0
    var1 = ((cal.p3 * var1 * var1) / 16384.0 + cal.p2 * var1) / 524288.0
    var1 = (1.0 + var1 / 32768.0) * cal.p1
    comp = 1048576.0 - adc_p
    comp = (comp - var2 / 4096.0) * 6250.0 / var1
    var1 = cal.p9 * comp * comp / 2147483648.0
    var2 = comp * (cal.p8 / 32768.0)
    var3 = (comp / 256.0) ** 3 * (cal.p10 / 131072.0)
    return comp + (var1 + var2 + var3 + cal.p7 * 128.0) / 16.0


def humidity(cal: BME680Calibration, adc_h: int, celsius: float) -> float:
    """Relative humidity, %, from the raw humidity at ``celsius``."""
    var1 = adc_h - (cal.h1 * 16.0 + (cal.h3 / 2.0) * celsius)
    var2 = var1 * (
        (cal.h2 / 262144.0) * (1.0 + (cal.h4 / 16384.0) * celsius + (cal.h5 / 1048576.0) * celsius * celsius)
    )
    var3, var4 = cal.h6 / 16384.0, cal.h7 / 2097152.0
    return var2 + (var3 + var4 * celsius) * var2 * var2


def gas_resistance(cal: BME680Calibration, adc_g: int, gas_range: int) -> float:
    """Ohms from the raw gas value and its range (section 3.4.1)."""
    var1 = (1340.0 + 5.0 * cal.range_switching_error) * CONST_ARRAY1[gas_range]
    return var1 * CONST_ARRAY2[gas_range] / (adc_g - 512.0 + var1)


def _invert(function, target: float, low: int, high: int, rising: bool) -> int:
    """The integer input in [low, high] whose output is nearest ``target`` (monotonic function)."""
    while high - low > 1:
        middle = (low + high) // 2
        if (function(middle) < target) == rising:
            low = middle
        else:
            high = middle
    return min((low, high), key=lambda x: abs(function(x) - target))


def encode_temperature(cal: BME680Calibration, celsius: float) -> int:
    return _invert(lambda adc: temperature(cal, adc)[0], celsius, 0, (1 << 20) - 1, rising=True)


def encode_pressure(cal: BME680Calibration, pascals: float, t_fine: float) -> int:
    return _invert(lambda adc: pressure(cal, adc, t_fine), pascals, 0, (1 << 20) - 1, rising=False)


def encode_humidity(cal: BME680Calibration, percent: float, celsius: float) -> int:
    return _invert(lambda adc: humidity(cal, adc, celsius), percent, 0, 0xFFFF, rising=True)


def encode_gas(cal: BME680Calibration, ohms: float) -> tuple[int, int]:
    """(adc, range) for a resistance: the range whose ADC value is nearest mid-scale."""
    best = None
    for gas_range in range(16):
        var1 = (1340.0 + 5.0 * cal.range_switching_error) * CONST_ARRAY1[gas_range]
        adc = round(var1 * CONST_ARRAY2[gas_range] / ohms + 512.0 - var1)
        if 0 <= adc <= 1023 and (best is None or abs(adc - 512) < abs(best[0] - 512)):
            best = (adc, gas_range)
    if best is None:
        raise ValueError(f"{ohms} ohms is outside every gas range")
    return best


def heater_ms(gas_wait: int) -> int:
    """gas_wait_x: bits 5:0 times 1, 4, 16 or 64 (bits 7:6), milliseconds."""
    return (gas_wait & 0x3F) * (4 ** (gas_wait >> 6))


class BME680Chip(RegisterChip):
    """A BME680 on the header, measuring the room."""

    name = "bme680"

    def __init__(
        self,
        environment: Environment,
        faults: Faults,
        address: int = ADDRESS,
        calibration: BME680Calibration = TYPICAL,
    ) -> None:
        super().__init__(address, faults)
        self.environment = environment
        self.calibration = calibration
        self._constants = {
            **{0x89 + i: b for i, b in enumerate(calibration.block1())},
            **{0xE1 + i: b for i, b in enumerate(calibration.block2())},
            0x00: calibration.res_heat_val & 0xFF,
            0x02: (calibration.res_heat_range & 0x03) << 4,
            0x04: (calibration.range_switching_error & 0x0F) << 4,
        }
        self._power_on()

    def _power_on(self) -> None:
        self.registers: dict[int, int] = {}
        self._measuring: Stopwatch | None = None
        self._duration = 0.0

    def measurement_seconds(self) -> float:
        """How long a forced measurement lasts with the present settings (datasheet 3.2.1)."""
        meas = self.registers.get(REG_CTRL_MEAS, 0)
        cycles = sum(
            OVERSAMPLING[x]
            for x in ((meas >> 5) & 7, (meas >> 2) & 7, self.registers.get(REG_CTRL_HUM, 0) & 7)
        )
        seconds = (cycles * 1963 + 477 * 9 + 1000) / 1e6
        if self._gas_on():
            seconds += heater_ms(self.registers.get(REG_GAS_WAIT_0, 0)) / 1000.0
        return seconds

    def _gas_on(self) -> bool:
        return bool(self.registers.get(REG_CTRL_GAS_1, 0) & 0x10)

    def write_register(self, register: int, value: int) -> None:
        if register == REG_RESET:
            if value == RESET_WORD:
                self._power_on()
            return
        self.registers[register] = value
        if register == REG_CTRL_MEAS and value & 0x03 == 0x01:
            self._duration = self.measurement_seconds()
            self._measuring = Stopwatch(self.environment.clock)
            # A new measurement: the last one's new-data flag goes.
            self.registers[REG_STATUS] = self.registers.get(REG_STATUS, 0) & ~NEW_DATA

    def before_read(self) -> None:
        if self._measuring is None or self.fault() == "stuck":
            return
        if self._measuring.passed(self._duration):
            self._measuring = None
            self._complete()

    def _complete(self) -> None:
        """The measurement's results into the data registers; back to sleep."""
        cal = self.calibration
        self.registers[REG_CTRL_MEAS] = self.registers.get(REG_CTRL_MEAS, 0) & ~0x03
        status = NEW_DATA
        if self.fault() == "out-of-range":
            adc_p = adc_t = (1 << 20) - 1
            adc_h, adc_g, gas_range, gas_flags = 0xFFFF, 0, 0, 0
        else:
            c = self.environment.conditions()
            celsius = c.room_temperature_celsius
            adc_t = encode_temperature(cal, celsius)
            exact, t_fine = temperature(cal, adc_t)
            adc_p = encode_pressure(cal, c.pressure_pascals, t_fine)
            adc_h = encode_humidity(cal, c.room_humidity_percent, exact)
            ohms = CLEAN_GAS_OHMS * (CLEAN_TVOC_PPB / self.environment.tvoc_ppb()) ** GAS_EXPONENT
            adc_g, gas_range = encode_gas(cal, ohms)
            gas_flags = 0
            if self._gas_on():
                gas_flags = GAS_VALID
                if heater_ms(self.registers.get(REG_GAS_WAIT_0, 0)) >= HEATER_SETTLE_MS:
                    gas_flags |= HEAT_STAB
        data = {
            0x1F: adc_p >> 12,
            0x20: (adc_p >> 4) & 0xFF,
            0x21: (adc_p & 0x0F) << 4,
            0x22: adc_t >> 12,
            0x23: (adc_t >> 4) & 0xFF,
            0x24: (adc_t & 0x0F) << 4,
            0x25: adc_h >> 8,
            0x26: adc_h & 0xFF,
            0x2A: adc_g >> 2,
            0x2B: ((adc_g & 0x03) << 6) | gas_flags | gas_range,
        }
        self.registers.update(data)
        self.registers[REG_STATUS] = status

    def read_register(self, register: int) -> int:
        if register == REG_CHIP_ID:
            return BME280_CHIP_ID if self.fault() == "wrong-id" else CHIP_ID
        if register == REG_VARIANT:
            return VARIANT
        if register in self._constants:
            return self._constants[register]
        if register == REG_STATUS:
            busy = MEASURING | (GAS_MEASURING if self._gas_on() else 0) if self._measuring is not None else 0
            return self.registers.get(REG_STATUS, 0) | busy
        return self.registers.get(register, 0)


def emulate(board: VirtualBoard, address: int = ADDRESS) -> BME680Chip:
    """A BME680 at ``address`` with a typical part's calibration, on the board's model and faults."""
    return BME680Chip(board.environment, board.faults, address)
