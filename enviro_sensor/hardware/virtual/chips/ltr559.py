"""Emulated Lite-On LTR-559ALS-01 ambient light and proximity sensor.

I2C address 0x23; part id 0x92 (part 0x9, revision 0x2) and manufacturer id
0x05, which the ltr559 driver checks (datasheet DS86-2013-0003, register
set). The light sensor has two photodiode channels, CH0 (visible + IR) and
CH1 (IR), whose counts scale with gain and integration time; lux comes from
them with the coefficients of Lite-On's appendix A, as the driver computes
it. The emulation picks counts that give the model's illuminance back. The
proximity sensor reports an 11-bit count that rises as something nears.

Time: the soft reset and the measurement cycles (the integration and
repeat times of ALS_MEAS_RATE, the PS_MEAS_RATE period) run on a
``Stopwatch`` each (the board's clock, or real time for a driver that polls
with ``time.sleep``).

``emulate(board, address)`` ("enviro_sensor.hardware.virtual.chips.ltr559:emulate")
makes one for ``VirtualBoard.provide_i2c_chip``.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from enviro_sensor.hardware.virtual.chips.registers import RegisterChip
from enviro_sensor.hardware.virtual.clock import Clock, Stopwatch

if TYPE_CHECKING:
    from enviro_sensor.hardware.virtual import VirtualBoard
    from enviro_sensor.hardware.virtual.environment import Environment
    from enviro_sensor.hardware.virtual.faults import Faults

ADDRESS = 0x23
PART_ID = 0x92
MANUFACTURER_ID = 0x05
WRONG_PART_ID = 0xA0

REG_ALS_CONTR = 0x80
REG_PS_CONTR = 0x81
REG_PART_ID = 0x86
REG_MANUFACTURER_ID = 0x87
REG_ALS_DATA = 0x88  # CH1 low, CH1 high, CH0 low, CH0 high
REG_ALS_PS_STATUS = 0x8C
REG_PS_DATA = 0x8D  # low 8 bits, then bits 10:8 and the saturation flag
REG_PS_OFFSET = 0x94  # bits 9:8, then 7:0
REG_ALS_MEAS_RATE = 0x85
REG_PS_MEAS_RATE = 0x84

SW_RESET = 0x02  # ALS_CONTR bit 1: set to reset; reads 1 until the reset is done
ALS_ACTIVE = 0x01

# Register defaults after power-on or reset (datasheet register descriptions).
RESET_VALUES = {
    0x80: 0x00, 0x81: 0x00, 0x82: 0x7F, 0x83: 0x01, 0x84: 0x02, 0x85: 0x03,
    0x8F: 0x08, 0x90: 0xFF, 0x91: 0x07, 0x92: 0x00, 0x93: 0x00, 0x94: 0x00,
    0x95: 0x00, 0x97: 0x00, 0x98: 0x00, 0x99: 0x00, 0x9A: 0x00, 0x9E: 0x00,
}  # fmt: skip

# ALS_CONTR gain field -> gain; ALS_MEAS_RATE fields -> milliseconds.
ALS_GAIN = {0: 1, 1: 2, 2: 4, 3: 8, 6: 48, 7: 96}
INTEGRATION_MS = (100, 50, 200, 400, 150, 250, 300, 350)
ALS_REPEAT_MS = (50, 100, 200, 500, 1000, 2000, 2000, 2000)
PS_RATE_MS = {0: 50, 1: 70, 2: 100, 3: 200, 4: 500, 5: 1000, 6: 2000}  # 8+ is 10 ms

# Lux coefficients for CH1/(CH0+CH1) below 0.45 (appendix A): the light of
# the model is given that IR share, typical of daylight through a window
# and of white LEDs.
CH0_COEFFICIENT = 1.7743
CH1_COEFFICIENT = -1.1059
IR_SHARE = 0.30

RESET_SECONDS = 0.001
PS_MAX = 0x7FF
# What the out-of-range fault reports: CH0 saturated with no IR, which the
# lux formula turns into about 58,000 lux at the driver's settings.
OUT_OF_RANGE_COUNTS = (0, 0xFFFF)  # (CH1, CH0)


def lux_from_counts(ch0: int, ch1: int, gain: int, integration_ms: float) -> float:
    """Lux for raw counts by the appendix A formula in its lowest-IR band."""
    return (ch0 * CH0_COEFFICIENT - ch1 * CH1_COEFFICIENT) / gain / (integration_ms / 100.0)


def counts_for_lux(lux: float, gain: int, integration_ms: float) -> tuple[int, int]:
    """(CH1, CH0) counts whose lux is ``lux``, each saturating at 16 bits on its own.

    Each photodiode integrates its own light: the counts are computed from
    the light first and clipped after, so in light too bright for CH0 the
    IR channel still counts on until it saturates in turn, as on the chip.
    """
    if lux <= 0:
        return 0, 0
    ch1_per_ch0 = IR_SHARE / (1.0 - IR_SHARE)
    per_ch0 = (CH0_COEFFICIENT - ch1_per_ch0 * CH1_COEFFICIENT) / gain / (integration_ms / 100.0)
    ch0 = lux / per_ch0
    ch1 = ch0 * ch1_per_ch0
    return min(0xFFFF, round(ch1)), min(0xFFFF, round(ch0))


class LTR559Chip(RegisterChip):
    """An LTR559 at 0x23 measuring the model's light and proximity."""

    name = "ltr559"

    def __init__(self, environment: Environment, faults: Faults, address: int = ADDRESS) -> None:
        super().__init__(address, faults)
        self.environment = environment
        self._registers: dict[int, int] = {}
        self._power_on()

    def _power_on(self) -> None:
        self._registers = dict(RESET_VALUES)
        self._resetting: Stopwatch | None = None
        self._als = _Cycle()
        self._ps = _Cycle()
        self._als_counts = (0, 0)  # CH1, CH0
        self._ps_count = 0
        self._als_new = self._ps_new = False
        self._als_data_gain = 0

    # -- measurement cycles -----------------------------------------------

    def _als_active(self) -> bool:
        return bool(self._registers[REG_ALS_CONTR] & ALS_ACTIVE)

    def _ps_active(self) -> bool:
        return bool(self._registers[REG_PS_CONTR] & 0b10)

    def _gain_field(self) -> int:
        return (self._registers[REG_ALS_CONTR] >> 2) & 0b111

    def _integration_ms(self) -> int:
        return INTEGRATION_MS[(self._registers[REG_ALS_MEAS_RATE] >> 3) & 0b111]

    def _als_period(self) -> float:
        # The repeat rate is raised to the integration time if set below it.
        repeat = ALS_REPEAT_MS[self._registers[REG_ALS_MEAS_RATE] & 0b111]
        return max(repeat, self._integration_ms()) / 1000.0

    def _ps_period(self) -> float:
        field = self._registers[REG_PS_MEAS_RATE] & 0x0F
        return (10 if field >= 8 else PS_RATE_MS.get(field, 2000)) / 1000.0

    def write_block(self, register: int, data: bytes) -> None:
        super().write_block(register, data)
        self.before_read()  # a measurement cycle starts when the sensor is switched on

    def before_read(self) -> None:
        if self.fault() == "stuck":
            return  # never leaves reset, and no measurement ever completes
        if self._resetting is not None and self._resetting.passed(RESET_SECONDS):
            self._power_on()
        clock = self.environment.clock
        if self._als.completed(clock, self._als_active(), self._als_period()):
            self._measure_light()
        if self._ps.completed(clock, self._ps_active(), self._ps_period()):
            self._measure_proximity()

    def _measure_light(self) -> None:
        gain = ALS_GAIN.get(self._gain_field(), 1)
        if self.fault() == "out-of-range":
            self._als_counts = OUT_OF_RANGE_COUNTS
        else:
            lux = self.environment.conditions().illuminance_lux
            self._als_counts = counts_for_lux(lux, gain, self._integration_ms())
        self._als_data_gain = self._gain_field()
        self._als_new = True

    def _measure_proximity(self) -> None:
        offset = (self._registers[REG_PS_OFFSET] & 0b11) << 8 | self._registers[REG_PS_OFFSET + 1]
        proximity = self.environment.conditions().proximity
        self._ps_count = max(0, min(PS_MAX, int(proximity) - offset))
        self._ps_new = True

    # -- registers ------------------------------------------------------------

    def write_register(self, register: int, value: int) -> None:
        if register == REG_ALS_CONTR and value & SW_RESET:
            self._resetting = Stopwatch(self.environment.clock)
        if register in self._registers and register not in (REG_PART_ID, REG_MANUFACTURER_ID):
            self._registers[register] = value

    def read_register(self, register: int) -> int:
        if register == REG_PART_ID:
            # wrong-id: the answer of another Lite-On part (an LTR-303ALS).
            return WRONG_PART_ID if self.fault() == "wrong-id" else PART_ID
        if register == REG_MANUFACTURER_ID:
            return MANUFACTURER_ID
        if REG_ALS_DATA <= register < REG_ALS_DATA + 4:
            ch1, ch0 = self._als_counts
            if register == REG_ALS_DATA + 3:
                self._als_new = False  # the data has been read (datasheet: ALS_PS_STATUS bit 2)
            return struct.pack("<HH", ch1, ch0)[register - REG_ALS_DATA]
        if register == REG_ALS_PS_STATUS:
            # Bit 7 clear: data valid; 6:4 gain of the data; 2 and 0: new ALS/PS data.
            return self._als_data_gain << 4 | self._als_new << 2 | self._ps_new
        if register == REG_PS_DATA:
            return self._ps_count & 0xFF
        if register == REG_PS_DATA + 1:
            self._ps_new = False
            saturated = 0x80 if self._ps_count >= PS_MAX else 0
            return saturated | self._ps_count >> 8
        return self._registers.get(register, 0)


class _Cycle:
    """A repeating measurement: completes once per period while active."""

    def __init__(self) -> None:
        self._watch: Stopwatch | None = None

    def completed(self, clock: Clock, active: bool, period: float) -> bool:
        """True when a measurement finished since the last call that said so."""
        if not active:
            self._watch = None
            return False
        if self._watch is None:
            self._watch = Stopwatch(clock)
        if self._watch.passed(period):
            self._watch = Stopwatch(clock)
            return True
        return False


def emulate(board: VirtualBoard, address: int = ADDRESS) -> LTR559Chip:
    """An LTR559 at ``address`` seeing the board's light and proximity, with its faults."""
    return LTR559Chip(board.environment, board.faults, address)
