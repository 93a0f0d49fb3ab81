"""Emulated Sensirion SGP40 VOC sensor at 0x59.

A command chip (SGP40 datasheet, version 1.2, section 4): the host writes a
16-bit command, arguments as words each followed by Sensirion's CRC-8
(``enviro_sensor.hardware.virtual.chips.sensirion``), and after the execution time reads
words with their CRCs. Modelled commands:

- 0x260F sgp40_measure_raw_signal (25 ms typical): arguments the relative humidity
  (word = RH * 65535 / 100) and temperature (word = (T + 45) * 65535 / 175)
  for the sensor's humidity compensation, 0x8000 0xA2 / 0x6666 0x93 when
  there is none (50 %RH, 25 C: the datasheet's defaults); the answer is
  SRAW_VOC, raw ticks. The first one switches the hotplate on;
- 0x280E sgp40_execute_self_test (250 ms typical): 0xD400 when all tests pass,
  0x4B00 when one fails;
- 0x3615 sgp4x_turn_heater_off: back to idle;
- 0x3682 get_serial_number: three words.

The raw signal: a metal-oxide element whose resistance falls as VOCs rise;
the ticks follow the logarithm of that resistance (Sensirion's gas index
algorithm works on them). Here SRAW = 30000 - 2500 * ln(TVOC / 100 ppb)
for the room's TVOC from ``enviro_sensor.hardware.virtual.environment``, inside the
datasheet's 0..65535 word.

Faults: absent, ioerror and intermittent on the bus; ``stuck`` (a
measurement never ends: not acknowledged), ``out-of-range`` (the self test
fails and SRAW is 0) and ``corrupt`` (a wrong CRC).

Time: the execution times run on a ``Stopwatch`` of the board's clock.
"""

from __future__ import annotations

import errno
import math
import os
from typing import TYPE_CHECKING

from enviro_sensor.hardware.virtual.chips.sensirion import frame_words, unframe_words
from enviro_sensor.hardware.virtual.clock import Stopwatch
from enviro_sensor.hardware.virtual.faults import register_device_faults

if TYPE_CHECKING:
    from enviro_sensor.hardware.virtual import VirtualBoard
    from enviro_sensor.hardware.virtual.environment import Environment
    from enviro_sensor.hardware.virtual.faults import Faults

ADDRESS = 0x59
MEASURE_RAW = 0x260F
SELF_TEST = 0x280E
HEATER_OFF = 0x3615
SERIAL_NUMBER = 0x3682
# Typical execution times (table 10: measure 25 ms typ, 30 ms max; self
# test 250 ms typ, 320 ms max); a driver waits the maximum.
EXECUTION_SECONDS = {MEASURE_RAW: 0.025, SELF_TEST: 0.25}
SELF_TEST_PASSED, SELF_TEST_FAILED = 0xD400, 0x4B00
CLEAN_TICKS, TICKS_PER_E_FOLD, CLEAN_TVOC_PPB = 30000.0, 2500.0, 100.0
FAULTS = ("absent", "ioerror", "stuck", "out-of-range", "corrupt", "intermittent")

register_device_faults("sgp40", FAULTS)


def sraw_ticks(tvoc_ppb: float) -> int:
    """The raw signal for a TVOC level: lower with more VOCs."""
    ticks = CLEAN_TICKS - TICKS_PER_E_FOLD * math.log(max(tvoc_ppb, 1.0) / CLEAN_TVOC_PPB)
    return max(0, min(0xFFFF, round(ticks)))


def _nack() -> OSError:
    return OSError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))


class SGP40Chip:
    """An SGP40 in the room."""

    name = "sgp40"

    def __init__(
        self, environment: Environment, faults: Faults, address: int = ADDRESS, serial: int = 0
    ) -> None:
        self.address = address
        self.environment = environment
        self.faults = faults
        self.serial = serial
        self.heater_on = False
        #: The compensation words of the last measurement (RH, T).
        self.compensation: tuple[int, int] | None = None
        self._busy: tuple[Stopwatch, float] | None = None
        self._answer: list[int] | None = None

    def write(self, data: bytes) -> None:
        """One write transfer: a command and its CRC-framed arguments."""
        if not data:
            return
        if self._busy is not None and not self._busy[0].passed(self._busy[1]):
            raise _nack()  # executing: the sensor does not listen
        self._busy = None
        if len(data) < 2:
            raise _nack()
        command = int.from_bytes(data[:2], "big")
        arguments = unframe_words(data[2:])
        if arguments is None:
            return  # a wrong CRC: ignored
        fault = self.faults.configured(self.name)
        self._answer = None
        if command == MEASURE_RAW and len(arguments) == 2:
            self.heater_on = True
            self.compensation = (arguments[0], arguments[1])
            ticks = 0 if fault == "out-of-range" else sraw_ticks(self.environment.tvoc_ppb())
            self._answer = [ticks]
        elif command == SELF_TEST:
            self._answer = [SELF_TEST_FAILED if fault == "out-of-range" else SELF_TEST_PASSED]
        elif command == HEATER_OFF:
            self.heater_on = False
        elif command == SERIAL_NUMBER:
            self._answer = [(self.serial >> shift) & 0xFFFF for shift in (32, 16, 0)]
        else:
            raise _nack()
        if command in EXECUTION_SECONDS:
            self._busy = (Stopwatch(self.environment.clock), EXECUTION_SECONDS[command])

    def read(self, length: int) -> bytes:
        """One read transfer: the answer to the last command."""
        busy = self._busy is not None and not self._busy[0].passed(self._busy[1])
        if busy or self.faults.configured(self.name) == "stuck" or self._answer is None:
            raise _nack()
        frame = bytearray(frame_words(self._answer))
        if self.faults.configured(self.name) == "corrupt":
            frame[2] ^= 0x5A
        return bytes(frame[:length]) + b"\xff" * max(0, length - len(frame))


def emulate(board: VirtualBoard, address: int = ADDRESS) -> SGP40Chip:
    """An SGP40 at ``address`` measuring the board's room, with the board's faults."""
    return SGP40Chip(board.environment, board.faults, address, serial=0x0000_4A40_0000 + board.seed)
