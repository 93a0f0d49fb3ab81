"""What the Bosch BME280 and BMP280 share: compensation formulas and register map.

Both parts measure temperature and pressure the same way: a 20-bit ADC
value per quantity, turned into degrees Celsius and pascals by the
compensation formulas with the part's factory trimming words (BME280
datasheet BST-BME280-DS002 sections 4.2.2-4.2.3 and 8.1; BMP280 datasheet
BST-BMP280-DS001 sections 3.11-3.12 and 8.1). The BME280 adds humidity.

This module has its own copy of the datasheets' double-precision forward
formulas (``compensate_temperature``, ``compensate_pressure``,
``compensate_humidity``) and of the trimming-word layout
(``BoschCalibration``), written from the datasheets, so that a reader
tested against this emulation is checked against the datasheet and not
against itself. The emulation works backwards: from the environment
model's value it finds the raw ADC value whose compensation gives that
value, so a driver doing the datasheet's math reads the model back within
the sensor's resolution.

Time: start-up after reset and each measurement are timed by
``enviro_sensor.hardware.virtual.clock.Stopwatch`` (the board's clock, or real time for
drivers that poll with ``time.sleep``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from enviro_sensor.hardware.virtual.chips.registers import RegisterChip
from enviro_sensor.hardware.virtual.clock import Stopwatch

if TYPE_CHECKING:
    from enviro_sensor.hardware.virtual.environment import Conditions, Environment
    from enviro_sensor.hardware.virtual.faults import Faults

# Register map (BME280 datasheet section 5.3, BMP280 section 4.2).
REG_CALIBRATION = 0x88  # calib00..calib25, 0x88..0xA1
REG_HUMIDITY_CALIBRATION = 0xE1  # calib26..calib32, 0xE1..0xE7 (BME280 only)
REG_CHIP_ID = 0xD0
REG_RESET = 0xE0
REG_CTRL_HUM = 0xF2  # BME280 only
REG_STATUS = 0xF3
REG_CTRL_MEAS = 0xF4
REG_CONFIG = 0xF5
REG_DATA = 0xF7  # press_msb .. temp_xlsb (.. hum_lsb on the BME280)

RESET_WORD = 0xB6  # the only value of 0xE0 that resets (section 5.4.2)
STATUS_MEASURING = 0x08
STATUS_IM_UPDATE = 0x01
MODE_SLEEP, MODE_NORMAL = 0b00, 0b11

# What the data registers hold after reset, or for a skipped measurement
# (register map reset values; section 4.3: "skipped" outputs 0x80000).
SKIPPED_20BIT = 0x80000
SKIPPED_16BIT = 0x8000

# Start-up time after power-on or soft reset, while the NVM is copied.
STARTUP_SECONDS = 0.002

# osrs_x field -> number of samples (0 = skipped; 5..7 all mean x16).
OVERSAMPLING = (0, 1, 2, 4, 8, 16, 16, 16)


# Where the temperature and pressure trimming words live (BMP280 datasheet
# table 17, BME280 table 16): each a 16-bit word, least significant byte at
# the lower address; dig_T1 and dig_P1 unsigned, the others two's complement.
TRIMMING_WORDS = (
    ("dig_t1", 0x88), ("dig_t2", 0x8A), ("dig_t3", 0x8C),
    ("dig_p1", 0x8E), ("dig_p2", 0x90), ("dig_p3", 0x92), ("dig_p4", 0x94), ("dig_p5", 0x96),
    ("dig_p6", 0x98), ("dig_p7", 0x9A), ("dig_p8", 0x9C), ("dig_p9", 0x9E),
)  # fmt: skip
UNSIGNED_WORDS = frozenset({"dig_t1", "dig_p1"})
# The BME280's humidity words (table 16): dig_H1 alone in 0xA1, the rest in
# 0xE1..0xE7, where dig_H4 and dig_H5 are 12-bit values sharing 0xE5.
REG_DIG_H1 = 0xA1
REG_DIG_H2 = 0xE1  # signed 16 bits, 0xE1 LSB, 0xE2 MSB
REG_DIG_H3 = 0xE3  # unsigned 8 bits
REG_DIG_H4 = 0xE4  # bits 11:4 in 0xE4, bits 3:0 in 0xE5[3:0]
REG_DIG_H5 = 0xE6  # bits 3:0 in 0xE5[7:4], bits 11:4 in 0xE6
REG_DIG_H6 = 0xE7  # signed 8 bits


def _check_bits(name: str, value: int, bits: int, signed: bool) -> None:
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if not low <= value <= high:
        raise ValueError(f"{name} must fit {'signed' if signed else 'unsigned'} {bits} bits, got {value}")


@dataclasses.dataclass(frozen=True)
class BoschCalibration:
    """The factory trimming words of one part, named as the datasheets name them.

    dig_T1..dig_P9 are the BMP280's and the BME280's; dig_H1..dig_H6 only the
    BME280's (a BMP280 leaves them 0).
    """

    dig_t1: int
    dig_t2: int
    dig_t3: int
    dig_p1: int
    dig_p2: int
    dig_p3: int
    dig_p4: int
    dig_p5: int
    dig_p6: int
    dig_p7: int
    dig_p8: int
    dig_p9: int
    dig_h1: int = 0
    dig_h2: int = 0
    dig_h3: int = 0
    dig_h4: int = 0
    dig_h5: int = 0
    dig_h6: int = 0

    def __post_init__(self) -> None:
        for name, _ in TRIMMING_WORDS:
            _check_bits(name, getattr(self, name), 16, signed=name not in UNSIGNED_WORDS)
        for name, bits, signed in (
            ("dig_h1", 8, False),
            ("dig_h2", 16, True),
            ("dig_h3", 8, False),
            ("dig_h4", 12, True),
            ("dig_h5", 12, True),
            ("dig_h6", 8, True),
        ):
            _check_bits(name, getattr(self, name), bits, signed)

    def registers(self, humidity: bool = True) -> dict[int, int]:
        """The non-volatile registers holding these words: ``{address: byte}``.

        0x88..0xA1 always (0xA0 is reserved and reads 0); 0xE1..0xE7 with
        ``humidity`` (the BME280's).
        """
        nvm = {0xA0: 0x00, REG_DIG_H1: self.dig_h1}
        for name, address in TRIMMING_WORDS:
            word = getattr(self, name) & 0xFFFF
            nvm[address], nvm[address + 1] = word & 0xFF, word >> 8
        if humidity:
            h2, h4, h5 = self.dig_h2 & 0xFFFF, self.dig_h4 & 0xFFF, self.dig_h5 & 0xFFF
            nvm[REG_DIG_H2], nvm[REG_DIG_H2 + 1] = h2 & 0xFF, h2 >> 8
            nvm[REG_DIG_H3] = self.dig_h3
            nvm[REG_DIG_H4] = h4 >> 4
            nvm[REG_DIG_H4 + 1] = (h4 & 0x0F) | (h5 & 0x0F) << 4
            nvm[REG_DIG_H5] = h5 >> 4
            nvm[REG_DIG_H6] = self.dig_h6 & 0xFF
        return nvm

    def calibration_bytes(self) -> bytes:
        """Registers 0x88..0xA1 (calib00..calib25) in address order."""
        nvm = self.registers(humidity=False)
        return bytes(nvm[address] for address in range(REG_CALIBRATION, REG_DIG_H1 + 1))

    def humidity_bytes(self) -> bytes:
        """Registers 0xE1..0xE7 (calib26..calib32), the BME280's humidity words."""
        nvm = self.registers()
        return bytes(nvm[address] for address in range(REG_HUMIDITY_CALIBRATION, REG_DIG_H6 + 1))


# The calibration of the BMP280 datasheet's worked example (section 3.12):
# with it adc_T = 519888 gives 25.08 C and adc_P = 415148 gives 100653.27 Pa.
DATASHEET_EXAMPLE = BoschCalibration(
    dig_t1=27504, dig_t2=26435, dig_t3=-1000,
    dig_p1=36477, dig_p2=-10685, dig_p3=3024, dig_p4=2855, dig_p5=140, dig_p6=-7,
    dig_p7=15500, dig_p8=-14600, dig_p9=6000,
)  # fmt: skip

# A calibration like one read from a real BME280. dig_H3 is 0 and dig_H4,
# dig_H5 are positive, as on the parts Pimoroni ships: pimoroni-bme280 1.0.0
# multiplies by an extra (1 + dig_H3 * ...) factor the datasheet does not
# have and mis-decodes negative dig_H4/dig_H5, so other words would make the
# real driver disagree with the datasheet.
TYPICAL_BME280 = BoschCalibration(
    dig_t1=28009, dig_t2=26533, dig_t3=50,
    dig_p1=37979, dig_p2=-10678, dig_p3=3024, dig_p4=7627, dig_p5=-95, dig_p6=-7,
    dig_p7=9900, dig_p8=-10230, dig_p9=4285,
    dig_h1=75, dig_h2=362, dig_h3=0, dig_h4=313, dig_h5=50, dig_h6=30,
)  # fmt: skip

# A calibration like one read from a real BMP280 (no humidity words).
TYPICAL_BMP280 = BoschCalibration(
    dig_t1=27922, dig_t2=26220, dig_t3=50,
    dig_p1=36738, dig_p2=-10542, dig_p3=3024, dig_p4=5386, dig_p5=-141, dig_p6=-7,
    dig_p7=15500, dig_p8=-14600, dig_p9=6000,
)  # fmt: skip


# -- the datasheets' forward formulas (section 8.1, double precision) ---------


def compensate_temperature(cal: BoschCalibration, adc_t: int) -> tuple[float, float]:
    """Degrees Celsius and t_fine for a raw 20-bit temperature.

    The datasheet's code stores t_fine in a 32-bit integer; its worked
    example (BMP280 section 3.12) carries the fraction on, and only so gives
    its 100653.27 Pa. The fraction moves the pressure by under 0.01 Pa, a
    twentieth of one count at x16, so it is kept, as the worked example and
    pimoroni-bme280 keep it.
    """
    var1 = (adc_t / 16384.0 - cal.dig_t1 / 1024.0) * cal.dig_t2
    var2 = (adc_t / 131072.0 - cal.dig_t1 / 8192.0) * (adc_t / 131072.0 - cal.dig_t1 / 8192.0) * cal.dig_t3
    t_fine = var1 + var2
    return t_fine / 5120.0, t_fine


def compensate_pressure(cal: BoschCalibration, adc_p: int, t_fine: float) -> float:
    """Pascals for a raw 20-bit pressure measured at ``t_fine``."""
    var1 = t_fine / 2.0 - 64000.0
    var2 = var1 * var1 * cal.dig_p6 / 32768.0
    var2 = var2 + var1 * cal.dig_p5 * 2.0
    var2 = var2 / 4.0 + cal.dig_p4 * 65536.0
    var1 = (cal.dig_p3 * var1 * var1 / 524288.0 + cal.dig_p2 * var1) / 524288.0
    var1 = (1.0 + var1 / 32768.0) * cal.dig_p1
    if var1 == 0.0:
        return 0.0  # the datasheet's guard against dividing by zero (dig_P1 = 0)
    p = 1048576.0 - adc_p
    p = (p - var2 / 4096.0) * 6250.0 / var1
    var1 = cal.dig_p9 * p * p / 2147483648.0
    var2 = p * cal.dig_p8 / 32768.0
    return p + (var1 + var2 + cal.dig_p7) / 16.0


def compensate_humidity(cal: BoschCalibration, adc_h: int, t_fine: float) -> float:
    """Percent relative humidity for a raw 16-bit humidity (BME280 only).

    Before the datasheet's final clamp to 0..100, so that a value beyond
    saturation (the out-of-range fault) can be seen for what it is.
    """
    var_h = t_fine - 76800.0
    var_h = (adc_h - (cal.dig_h4 * 64.0 + cal.dig_h5 / 16384.0 * var_h)) * (
        cal.dig_h2
        / 65536.0
        * (1.0 + cal.dig_h6 / 67108864.0 * var_h * (1.0 + cal.dig_h3 / 67108864.0 * var_h))
    )
    return var_h * (1.0 - cal.dig_h1 * var_h / 524288.0)


def _nearest_raw(decode: Callable[[int], float], target: float, bits: int) -> int:
    """The raw value in 0..2**bits-1 whose decoded value is nearest ``target``.

    ``decode`` is monotonic over the range (increasing or decreasing), so a
    bisection finds it in ``bits`` steps.
    """
    low, high = 0, (1 << bits) - 1
    rising = decode(high) >= decode(low)
    while low < high:
        middle = (low + high) // 2
        if (decode(middle) < target) == rising:
            low = middle + 1
        else:
            high = middle
    candidates = (max(low - 1, 0), low)
    return min(candidates, key=lambda raw: abs(decode(raw) - target))


def raw_temperature(cal: BoschCalibration, celsius: float) -> int:
    """The 20-bit adc_T that compensates to ``celsius``."""
    return _nearest_raw(lambda raw: compensate_temperature(cal, raw)[0], celsius, 20)


def raw_pressure(cal: BoschCalibration, pascals: float, t_fine: float) -> int:
    """The 20-bit adc_P that compensates to ``pascals`` at ``t_fine``."""
    return _nearest_raw(lambda raw: compensate_pressure(cal, raw, t_fine), pascals, 20)


def raw_humidity(cal: BoschCalibration, percent: float, t_fine: float) -> int:
    """The 16-bit adc_H that compensates to ``percent`` at ``t_fine``."""
    return _nearest_raw(lambda raw: compensate_humidity(cal, raw, t_fine), percent, 16)


def measurement_seconds(osrs_t: int, osrs_p: int, osrs_h: int | None) -> float:
    """Maximum time of one measurement (BME280 datasheet 9.1), from osrs_x fields.

    A skipped quantity costs nothing; ``osrs_h`` is None on the BMP280.
    """
    millis = 1.25
    if OVERSAMPLING[osrs_t]:
        millis += 2.3 * OVERSAMPLING[osrs_t]
    if OVERSAMPLING[osrs_p]:
        millis += 2.3 * OVERSAMPLING[osrs_p] + 0.575
    if osrs_h is not None and OVERSAMPLING[osrs_h]:
        millis += 2.3 * OVERSAMPLING[osrs_h] + 0.575
    return millis / 1000.0


@dataclasses.dataclass(frozen=True)
class Measurand:
    """The values one measurement converts."""

    celsius: float
    pascals: float
    humidity_percent: float = 0.0


# What the out-of-range fault measures: beyond the operating range
# (-40..85 C, 300..1100 hPa) and beyond saturation.
OUT_OF_RANGE = Measurand(celsius=120.0, pascals=125_000.0, humidity_percent=110.0)


class BoschSensor(RegisterChip):
    """The register behaviour both parts share: modes, status, data, reset.

    Subclasses set ``chip_id``, ``wrong_id``, ``has_humidity``,
    ``standby_ms`` and ``measurand`` (which of the model's values the part
    sees). In normal mode a measurement completes every t_measure + t_standby
    (the IIR filter is not modelled: the model's values are smooth already);
    in forced mode one measurement runs and the part returns to sleep
    (datasheet 3.3). Data registers are latched per measurement, so a burst
    read is always consistent (datasheet 4: data shadowing).
    """

    chip_id = 0x00
    wrong_id = 0xFF
    has_humidity = False
    # config t_sb field -> standby time in ms (BME280 table 27; BMP280 differs in 6, 7).
    standby_ms: tuple[float, ...] = (0.5, 62.5, 125, 250, 500, 1000, 10, 20)

    def __init__(
        self, environment: Environment, faults: Faults, address: int, calibration: BoschCalibration
    ) -> None:
        super().__init__(address, faults)
        self.environment = environment
        self.calibration = calibration
        self._nvm = calibration.registers(humidity=self.has_humidity)
        self._power_on()

    def measurand(self, conditions: Conditions) -> Measurand:
        """What the part measures under ``conditions``."""
        raise NotImplementedError

    # -- state ----------------------------------------------------------------

    def _power_on(self) -> None:
        self._ctrl_hum = 0
        self._osrs_h = 0  # ctrl_hum takes effect at the next ctrl_meas write (5.4.3)
        self._ctrl_meas = 0
        self._config = 0
        self._data = (SKIPPED_20BIT, SKIPPED_20BIT, SKIPPED_16BIT)
        self._startup = Stopwatch(self.environment.clock)
        self._measuring: Stopwatch | None = None
        self._measure_seconds = 0.0
        self._normal_waits_standby = False

    @property
    def mode(self) -> int:
        return self._ctrl_meas & 0b11

    def _t_measure(self) -> float:
        osrs_h = self._osrs_h if self.has_humidity else None
        return measurement_seconds(self._ctrl_meas >> 5, (self._ctrl_meas >> 2) & 0b111, osrs_h)

    def _t_standby(self) -> float:
        return self.standby_ms[self._config >> 5] / 1000.0

    def _start_measurement(self, after_standby: bool) -> None:
        self._measuring = Stopwatch(self.environment.clock)
        self._normal_waits_standby = after_standby
        self._measure_seconds = self._t_measure() + (self._t_standby() if after_standby else 0.0)

    def _is_measuring(self) -> bool:
        if self._measuring is None:
            return False
        if self.fault() == "stuck":
            return True  # the conversion never ends
        return not self._measuring.passed(self._measure_seconds)

    def before_read(self) -> None:
        if self._measuring is None or self._is_measuring():
            return
        self._latch()
        if self.mode == MODE_NORMAL:
            self._start_measurement(after_standby=True)
        else:
            self._measuring = None
            self._ctrl_meas &= ~0b11  # forced mode ends in sleep mode (3.3.3)

    def _latch(self) -> None:
        """Store one measurement of the model in the data registers."""
        if self.fault() == "out-of-range":
            values = OUT_OF_RANGE
        else:
            values = self.measurand(self.environment.conditions())
        cal = self.calibration
        adc_t = raw_temperature(cal, values.celsius)
        _, t_fine = compensate_temperature(cal, adc_t)
        adc_p = raw_pressure(cal, values.pascals, t_fine)
        adc_h = raw_humidity(cal, values.humidity_percent, t_fine) if self.has_humidity else 0
        # A skipped quantity reads as the reset value (datasheet 4.3).
        if not OVERSAMPLING[self._ctrl_meas >> 5]:
            adc_t = SKIPPED_20BIT
        if not OVERSAMPLING[(self._ctrl_meas >> 2) & 0b111]:
            adc_p = SKIPPED_20BIT
        if not OVERSAMPLING[self._osrs_h]:
            adc_h = SKIPPED_16BIT
        self._data = (adc_p, adc_t, adc_h)

    # -- registers ------------------------------------------------------------

    def write_block(self, register: int, data: bytes) -> None:
        # Bosch parts take register/value pairs, not auto-incremented data
        # (BME280 datasheet 6.2.1): [reg, value, reg, value, ...].
        pairs = bytes([register]) + data
        for index in range(0, len(pairs) - 1, 2):
            self.write_register(pairs[index], pairs[index + 1])

    def write_register(self, register: int, value: int) -> None:
        if register == REG_RESET:
            if value == RESET_WORD:
                self._power_on()
        elif register == REG_CTRL_HUM and self.has_humidity:
            self._ctrl_hum = value & 0b111
        elif register == REG_CTRL_MEAS:
            self._ctrl_meas = value
            self._osrs_h = self._ctrl_hum
            if self.mode == MODE_SLEEP:
                self._measuring = None
            else:  # forced (01 or 10) starts one; normal starts the cycle
                self._start_measurement(after_standby=False)
        elif register == REG_CONFIG:
            self._config = value & 0b11111101  # bit 1 is reserved

    def read_register(self, register: int) -> int:
        if register == REG_CHIP_ID:
            return self.wrong_id if self.fault() == "wrong-id" else self.chip_id
        if register in self._nvm:
            return self._nvm[register]
        if register == REG_CTRL_HUM and self.has_humidity:
            return self._ctrl_hum
        if register == REG_STATUS:
            status = STATUS_MEASURING if self._status_measuring() else 0
            if not self._startup.passed(STARTUP_SECONDS):
                status |= STATUS_IM_UPDATE
            return status
        if register == REG_CTRL_MEAS:
            return self._ctrl_meas
        if register == REG_CONFIG:
            return self._config
        return self._data_register(register)

    def _status_measuring(self) -> bool:
        if not self._is_measuring():
            return False
        if self.mode != MODE_NORMAL or not self._normal_waits_standby:
            return True
        # In normal mode the conversion is the last t_measure of each period.
        assert self._measuring is not None
        return self._measuring.elapsed() >= self._t_standby()

    def _data_register(self, register: int) -> int:
        adc_p, adc_t, adc_h = self._data
        # press_msb, press_lsb, press_xlsb[7:4], then the same for temp (5.4.7-5.4.8).
        layout = {
            REG_DATA: adc_p >> 12,
            REG_DATA + 1: (adc_p >> 4) & 0xFF,
            REG_DATA + 2: (adc_p & 0x0F) << 4,
            REG_DATA + 3: adc_t >> 12,
            REG_DATA + 4: (adc_t >> 4) & 0xFF,
            REG_DATA + 5: (adc_t & 0x0F) << 4,
        }
        if self.has_humidity:
            layout[REG_DATA + 6] = adc_h >> 8
            layout[REG_DATA + 7] = adc_h & 0xFF
        return layout.get(register, 0)
