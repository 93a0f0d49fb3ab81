"""What the Bosch BME280 and BMP280 share: compensation math and register map.

Both parts measure temperature and pressure the same way: a 20-bit ADC
value per quantity, turned into degrees Celsius and pascals by the
compensation formulas with the part's factory calibration words (BME280
datasheet BST-BME280-DS002 sections 4.2.2-4.2.3 and 8.1; BMP280 datasheet
BST-BMP280-DS001 sections 3.11-3.12 and 8.1). The BME280 adds humidity.

The emulation works backwards: from the environment model's value it finds
the raw ADC value whose compensation gives that value, so a driver doing
the datasheet's math reads the model back within the sensor's resolution.
The double-precision formulas are used, as pimoroni-bme280 uses them.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable

from hardware.virtual.chips.registers import RegisterChip
from hardware.virtual.clock import Stopwatch

# The datasheet's forward formulas, as the product's own BMP280 reader
# computes them; the emulation inverts them.
from retrievers.bmp280 import Calibration, compensate_pressure, compensate_temperature

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


@dataclasses.dataclass(frozen=True)
class BoschCalibration(Calibration):
    """The factory trimming words of one part: the BMP280's dig_T1..dig_P9
    (as the product's reader parses them) and the BME280's dig_H1..dig_H6."""

    h1: int = 0
    h2: int = 0
    h3: int = 0
    h4: int = 0
    h5: int = 0
    h6: int = 0

    def calibration_bytes(self) -> bytes:
        """Registers 0x88..0xA1: T1..P9 as little-endian words, 0xA0 reserved, H1."""
        return self.registers() + bytes([0, self.h1 & 0xFF])

    def humidity_bytes(self) -> bytes:
        """Registers 0xE1..0xE7 (BME280 datasheet table 16: H4 and H5 share 0xE5)."""
        h4, h5 = self.h4 & 0xFFF, self.h5 & 0xFFF
        return struct.pack("<h", self.h2) + bytes(
            [self.h3 & 0xFF, h4 >> 4, (h4 & 0x0F) | (h5 & 0x0F) << 4, h5 >> 4, self.h6 & 0xFF]
        )


# The example calibration of the BMP280 datasheet's worked example
# (section 3.12): with it adc_T = 519888 gives 25.08 C and adc_P = 415148
# gives 100653.27 Pa.
DATASHEET_EXAMPLE = BoschCalibration(
    t1=27504, t2=26435, t3=-1000, p1=36477, p2=-10685, p3=3024, p4=2855, p5=140, p6=-7,
    p7=15500, p8=-14600, p9=6000,
)  # fmt: skip

# A calibration like one read from a real BME280. dig_H3 is 0 and dig_H4,
# dig_H5 are positive, as on the parts Pimoroni ships: pimoroni-bme280 1.0.0
# multiplies by an extra (1 + dig_H3 * ...) factor the datasheet does not
# have and mis-decodes negative dig_H4/dig_H5, so other words would make the
# real driver disagree with the datasheet.
TYPICAL_BME280 = BoschCalibration(
    t1=28009, t2=26533, t3=50, p1=37979, p2=-10678, p3=3024, p4=7627, p5=-95, p6=-7,
    p7=9900, p8=-10230, p9=4285, h1=75, h2=362, h3=0, h4=313, h5=50, h6=30,
)  # fmt: skip

# A calibration like one read from a real BMP280 (no humidity words).
TYPICAL_BMP280 = BoschCalibration(
    t1=27922, t2=26220, t3=50, p1=36738, p2=-10542, p3=3024, p4=5386, p5=-141, p6=-7,
    p7=15500, p8=-14600, p9=6000,
)  # fmt: skip


def compensate_humidity(cal: BoschCalibration, adc_h: int, t_fine: float) -> float:
    """Percent relative humidity, before the datasheet's clamp to 0..100 (BME280 8.1)."""
    h = t_fine - 76800.0
    h = (adc_h - (cal.h4 * 64.0 + cal.h5 / 16384.0 * h)) * (
        cal.h2 / 65536.0 * (1.0 + cal.h6 / 67108864.0 * h * (1.0 + cal.h3 / 67108864.0 * h))
    )
    return h * (1.0 - cal.h1 * h / 524288.0)


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

    def __init__(self, environment, faults, address: int, calibration: BoschCalibration) -> None:
        super().__init__(address, faults)
        self.environment = environment
        self.calibration = calibration
        self._nvm = {REG_CALIBRATION + i: b for i, b in enumerate(calibration.calibration_bytes())}
        if self.has_humidity:
            self._nvm.update(
                {REG_HUMIDITY_CALIBRATION + i: b for i, b in enumerate(calibration.humidity_bytes())}
            )
        self._power_on()

    def measurand(self, conditions) -> Measurand:
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
