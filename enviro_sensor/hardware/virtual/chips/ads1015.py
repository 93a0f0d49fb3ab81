"""Emulated TI ADS1015 12-bit ADC, measuring the MiCS-6814 gas sensor.

On the Enviro+ it sits at 0x49 (ADDR to VDD) with the gas elements' dividers
on inputs 0 (oxidising), 1 (reducing) and 2 (NH3) (datasheet SBAS473).

Four 16-bit registers behind a pointer: 0 conversion (a 12-bit result,
left-justified), 1 config, 2 and 3 the comparator thresholds, all sent
most significant byte first. In single-shot mode writing config with bit 15
(OS) set starts one conversion, which takes 1/data-rate; OS reads 0 until it
is done. The ads1015 driver tells an ADS1015 from an ADS1115 by timing ten
conversions with the real clock (an ADS1015 is 16 times faster at the same
setting), so conversions here take real time too (see ``Stopwatch``): on a
ManualClock a conversion ends after 1/DR of real time or when the test
advances the clock past it.

``emulate(board, address)`` ("enviro_sensor.hardware.virtual.chips.ads1015:emulate")
makes one for ``VirtualBoard.provide_i2c_chip``: an ADS1015 wired as the
Enviro+ wires its own, to the board's MiCS-6814 dividers on inputs 0-2 and
the free fourth input (``VirtualBoard.adc_inputs``), so a MiCS-6814 read at
another address reads the same gas sensor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from enviro_sensor.hardware.virtual.chips.registers import RegisterChip
from enviro_sensor.hardware.virtual.clock import Stopwatch

if TYPE_CHECKING:
    from enviro_sensor.hardware.virtual import VirtualBoard
    from enviro_sensor.hardware.virtual.environment import Environment
    from enviro_sensor.hardware.virtual.faults import Faults

ADDRESS = 0x49

REG_CONVERSION, REG_CONFIG, REG_LO_THRESH, REG_HI_THRESH = 0, 1, 2, 3
# Register values after power-on (datasheet register map).
RESET_VALUES = {REG_CONVERSION: 0x0000, REG_CONFIG: 0x8583, REG_LO_THRESH: 0x8000, REG_HI_THRESH: 0x7FFF}

OS = 0x8000
MODE_SINGLE = 0x0100
# Config fields -> full-scale range in volts (PGA) and samples per second (DR).
FULL_SCALE_VOLTS = (6.144, 4.096, 2.048, 1.024, 0.512, 0.256, 0.256, 0.256)
DATA_RATES = (128, 250, 490, 920, 1600, 2400, 3300, 3300)

# What the out-of-range fault converts: positive full scale, which no input
# within the 3.3 V supply can produce at the gain the gas readout uses.
OUT_OF_RANGE_CODE = 0x7FF


def conversion_code(volts: float, full_scale: float) -> int:
    """The 12-bit two's-complement result for ``volts``, clipped at full scale."""
    code = round(volts / full_scale * 2048)
    return max(-2048, min(2047, code))


def code_volts(code: int, full_scale: float) -> float:
    """The voltage a 12-bit result stands for."""
    return code * full_scale / 2048


class ADS1015Chip(RegisterChip):
    """An ADS1015 converting the voltages ``inputs()`` gives for AIN0..AIN3."""

    name = "ads1015"

    def __init__(
        self,
        environment: Environment,
        faults: Faults,
        inputs: Callable[[], tuple[float, float, float, float]],
        address: int = ADDRESS,
    ) -> None:
        super().__init__(address, faults)
        self.environment = environment
        self._inputs = inputs
        self._registers = dict(RESET_VALUES)
        self._converting: Stopwatch | None = None
        self._conversion_seconds = 0.0

    # -- the converter ---------------------------------------------------------

    def _config(self, mask: int, shift: int) -> int:
        return (self._registers[REG_CONFIG] & mask) >> shift

    def _start_conversion(self) -> None:
        self._conversion_seconds = 1.0 / DATA_RATES[self._config(0x00E0, 5)]
        self._converting = Stopwatch(self.environment.clock)

    def _result(self) -> int:
        """The 12-bit result of a conversion ending now.

        It uses the input and gain selected when it ends. A driver sets
        gain and input in separate writes; on a real bus each takes longer
        than a conversion at 1600 SPS, so a conversion started by one write
        is over before the next, and the reading uses the last settings.
        Here transfers take no time, and evaluating at the end gives the
        reading the real bus would.
        """
        if self.fault() == "out-of-range":
            return OUT_OF_RANGE_CODE
        full_scale = FULL_SCALE_VOLTS[self._config(0x0E00, 9)]
        return conversion_code(self._input_volts(self._config(0x7000, 12)), full_scale)

    def _input_volts(self, mux: int) -> float:
        ain = self._inputs()
        if mux >= 4:  # AINx against ground
            return ain[mux - 4]
        # Differential pairs: AIN0-AIN1, AIN0-AIN3, AIN1-AIN3, AIN2-AIN3.
        positive, negative = ((0, 1), (0, 3), (1, 3), (2, 3))[mux]
        return ain[positive] - ain[negative]

    def _busy(self) -> bool:
        if self._converting is None:
            return False
        if self.fault() == "stuck":
            return True
        return not self._converting.passed(self._conversion_seconds)

    def _settle(self) -> None:
        """Finish a conversion whose time is up."""
        if self._converting is not None and not self._busy():
            self._registers[REG_CONVERSION] = (self._result() & 0xFFF) << 4
            self._converting = None
            if not self._registers[REG_CONFIG] & MODE_SINGLE:
                self._start_conversion()  # continuous mode converts again at once

    # -- registers --------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._pointer = data[0] & 0b11
        if len(data) >= 3:
            self._write_register16(self._pointer, data[1] << 8 | data[2])

    def _write_register16(self, register: int, value: int) -> None:
        self._settle()
        if register == REG_CONVERSION:
            return  # read-only
        if register != REG_CONFIG:
            self._registers[register] = value
            return
        self._registers[REG_CONFIG] = value & ~OS
        if not value & MODE_SINGLE:
            if self._converting is None:
                self._start_conversion()
        elif value & OS and self._converting is None:
            # OS = 1 starts a conversion only from power-down; during one it does nothing.
            self._start_conversion()

    def read(self, length: int) -> bytes:
        self._settle()
        value = self._registers[self._pointer]
        if self._pointer == REG_CONFIG and not self._busy():
            value |= OS
        word = bytes([value >> 8, value & 0xFF])
        # The pointer does not advance: longer reads repeat the register.
        return bytes(word[i % 2] for i in range(length))


def emulate(board: VirtualBoard, address: int = ADDRESS) -> ADS1015Chip:
    """An ADS1015 at ``address`` converting the board's gas dividers and free input."""
    return ADS1015Chip(board.environment, board.faults, board.adc_inputs, address)
