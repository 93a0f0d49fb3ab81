"""Emulated Sensirion SCD40/SCD41 CO2, temperature and humidity sensor at 0x62.

A command chip (SCD4x datasheet, version 1.5, section 3): the host writes a
16-bit command, with arguments as words each followed by Sensirion's CRC-8
(``enviro_sensor.hardware.virtual.chips.sensirion``), and after the command's execution
time reads the answer as words with their CRCs. Modelled commands:

- 0x21B1 start_periodic_measurement: a new measurement every 5 s,
- 0xEC05 read_measurement (1 ms): CO2 in ppm, then
  T = -45 + 175 * word / 65535 C and RH = 100 * word / 65535 %; reading
  empties the buffer, and with nothing in it the sensor does not acknowledge,
- 0xE4B8 get_data_ready_status (1 ms): the low 11 bits are 0 while no
  measurement waits,
- 0x3F86 stop_periodic_measurement (500 ms), 0x3646 reinit (30 ms),
- 0x3682 get_serial_number (three words), 0x202F get_sensor_variant
  (bits 15-12: 0 for an SCD40, 1 for an SCD41),
- 0x241D / 0x2318 set / get_temperature_offset (default 4 C: the sensor's
  own heat, taken off the temperature it reports),
- 0xE000 set / get_ambient_pressure (hPa), 0x2427 / 0x2322 sensor altitude,
- 0x2416 / 0x2313 automatic self-calibration on or off,
- 0x219D measure_single_shot (SCD41 only, 5 s),
- 0x36F6 wake_up (SCD41 only): the sensor does not acknowledge it.

While measuring periodically the sensor answers only read_measurement,
get_data_ready_status, stop_periodic_measurement and the ambient pressure
commands (datasheet table 9); anything else is not acknowledged, as is an
unknown command. A command whose argument fails its CRC is ignored.

Values: the room of ``enviro_sensor.hardware.virtual.environment``: its CO2 model, and
its temperature and humidity, since a breakout on a cable measures the
room. The sensor runs warm by its self-heating; the temperature offset
(4 C unless set) takes it off, and the humidity is reported for the
temperature after the offset, as the part does.

Faults: absent, ioerror and intermittent on the bus; ``stuck`` (no
measurement ever becomes ready), ``out-of-range`` (every word 0xFFFF:
65535 ppm and 130 C) and ``corrupt`` (a CRC byte is wrong).

Time: the 5 s interval and the commands' execution times run on a
``Stopwatch`` of the board's clock, so a test advances a ManualClock past
them instead of waiting.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING

from enviro_sensor.hardware.virtual.chips.sensirion import frame_words, unframe_words
from enviro_sensor.hardware.virtual.clock import Stopwatch
from enviro_sensor.hardware.virtual.environment import relative_humidity_at
from enviro_sensor.hardware.virtual.faults import register_device_faults

if TYPE_CHECKING:
    from enviro_sensor.hardware.virtual import VirtualBoard
    from enviro_sensor.hardware.virtual.environment import Environment
    from enviro_sensor.hardware.virtual.faults import Faults

ADDRESS = 0x62

START_PERIODIC = 0x21B1
READ_MEASUREMENT = 0xEC05
STOP_PERIODIC = 0x3F86
DATA_READY = 0xE4B8
REINIT = 0x3646
SERIAL_NUMBER = 0x3682
SENSOR_VARIANT = 0x202F
SET_TEMPERATURE_OFFSET, GET_TEMPERATURE_OFFSET = 0x241D, 0x2318
AMBIENT_PRESSURE = 0xE000
SET_ALTITUDE, GET_ALTITUDE = 0x2427, 0x2322
SET_ASC, GET_ASC = 0x2416, 0x2313
MEASURE_SINGLE_SHOT = 0x219D
WAKE_UP = 0x36F6

# Commands the sensor takes while it measures periodically (table 9).
PERIODIC_COMMANDS = frozenset({READ_MEASUREMENT, DATA_READY, STOP_PERIODIC, AMBIENT_PRESSURE})
# Execution times in seconds (table 9): the sensor does not answer before.
EXECUTION_SECONDS = {STOP_PERIODIC: 0.5, REINIT: 0.03, MEASURE_SINGLE_SHOT: 5.0}
MEASUREMENT_INTERVAL = 5.0
# The temperature offset a sensor leaves the factory with (section 3.7.1),
# and its self-heating in periodic mode, which that offset takes off.
DEFAULT_OFFSET_CELSIUS = 4.0
SELF_HEATING_CELSIUS = 4.0
VARIANTS = {"scd40": 0x0000, "scd41": 0x1000}
FAULTS = ("absent", "ioerror", "stuck", "out-of-range", "corrupt", "intermittent")

for _variant in VARIANTS:
    register_device_faults(_variant, FAULTS)


def temperature_word(celsius: float) -> int:
    """The word for a temperature: T = -45 + 175 * word / 65535."""
    return max(0, min(0xFFFF, round((celsius + 45.0) * 65535.0 / 175.0)))


def humidity_word(percent: float) -> int:
    """The word for a relative humidity: RH = 100 * word / 65535."""
    return max(0, min(0xFFFF, round(percent * 65535.0 / 100.0)))


def offset_word(celsius: float) -> int:
    """The word for a temperature offset: offset = 175 * word / 65535."""
    return max(0, min(0xFFFF, round(celsius * 65535.0 / 175.0)))


def _nack() -> OSError:
    return OSError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))


class SCD4xChip:
    """An SCD40 or SCD41 in the room; ``variant`` is its fault device name too."""

    def __init__(
        self,
        environment: Environment,
        faults: Faults,
        address: int = ADDRESS,
        variant: str = "scd41",
        serial: int = 0x0F1E_2D3C_4B5A,
    ) -> None:
        self.name = variant
        self.address = address
        self.environment = environment
        self.faults = faults
        self.serial = serial
        self._power_on()

    def _power_on(self) -> None:
        self.periodic: Stopwatch | None = None
        self._single_shot: Stopwatch | None = None
        self._measurements_read = 0
        self._buffer: tuple[int, int, int] | None = None
        self._busy: tuple[Stopwatch, float] | None = None
        self._answer: list[int] | None = None
        self.offset_word = offset_word(DEFAULT_OFFSET_CELSIUS)
        self.ambient_hpa = 1013
        self.altitude_m = 0
        self.asc_enabled = 1

    # -- measurements ----------------------------------------------------------

    def _measure(self) -> tuple[int, int, int]:
        if self.faults.configured(self.name) == "out-of-range":
            return 0xFFFF, 0xFFFF, 0xFFFF
        env = self.environment
        c = env.conditions()
        own = c.room_temperature_celsius + SELF_HEATING_CELSIUS
        reported = own - 175.0 * self.offset_word / 65535.0
        humidity = relative_humidity_at(c.room_humidity_percent, c.room_temperature_celsius, reported)
        co2 = max(0, min(0xFFFF, round(env.co2())))
        return co2, temperature_word(reported), humidity_word(min(100.0, humidity))

    def _update(self) -> None:
        """Take the measurements that have come due since the last look."""
        if self.faults.configured(self.name) == "stuck":
            return
        if self.periodic is not None:
            due = int(self.periodic.elapsed() // MEASUREMENT_INTERVAL)
            if due > self._measurements_read:
                # A new measurement overwrites an unread one.
                self._measurements_read = due
                self._buffer = self._measure()
        elif self._single_shot is not None and self._single_shot.passed(
            EXECUTION_SECONDS[MEASURE_SINGLE_SHOT]
        ):
            self._single_shot = None
            self._buffer = self._measure()

    # -- the wire ----------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """One write transfer: a command and its CRC-framed arguments."""
        if not data:
            return  # an address-only probe is acknowledged
        if self._busy is not None:
            watch, seconds = self._busy
            if not watch.passed(seconds):
                raise _nack()  # still executing: the sensor does not listen
            self._busy = None
        if len(data) < 2:
            raise _nack()
        command = int.from_bytes(data[:2], "big")
        arguments = unframe_words(data[2:])
        if arguments is None:
            return  # a wrong CRC: the command is ignored
        self._update()
        if self.periodic is not None and command not in PERIODIC_COMMANDS:
            raise _nack()
        self._answer = None
        self._command(command, arguments)
        if command in EXECUTION_SECONDS:
            self._busy = (Stopwatch(self.environment.clock), EXECUTION_SECONDS[command])

    def _command(self, command: int, arguments: list[int]) -> None:
        scd41 = self.name == "scd41"
        if command == START_PERIODIC:
            self.periodic = Stopwatch(self.environment.clock)
            self._measurements_read = 0
        elif command == STOP_PERIODIC:
            self.periodic = None
        elif command == READ_MEASUREMENT:
            if self._buffer is None:
                raise _nack()
            self._answer, self._buffer = list(self._buffer), None
        elif command == DATA_READY:
            self._answer = [0x8006 if self._buffer is not None else 0x8000]
        elif command == REINIT:
            self._power_on()
        elif command == SERIAL_NUMBER:
            self._answer = [(self.serial >> shift) & 0xFFFF for shift in (32, 16, 0)]
        elif command == SENSOR_VARIANT:
            self._answer = [VARIANTS[self.name]]
        elif command == SET_TEMPERATURE_OFFSET and arguments:
            self.offset_word = arguments[0]
        elif command == GET_TEMPERATURE_OFFSET:
            self._answer = [self.offset_word]
        elif command == AMBIENT_PRESSURE:
            if arguments:
                self.ambient_hpa = arguments[0]
            else:
                self._answer = [self.ambient_hpa]
        elif command == SET_ALTITUDE and arguments:
            self.altitude_m = arguments[0]
        elif command == GET_ALTITUDE:
            self._answer = [self.altitude_m]
        elif command == SET_ASC and arguments:
            self.asc_enabled = arguments[0]
        elif command == GET_ASC:
            self._answer = [self.asc_enabled]
        elif command == MEASURE_SINGLE_SHOT and scd41:
            self._single_shot = Stopwatch(self.environment.clock)
        elif command == WAKE_UP and scd41:
            raise _nack()  # woken, but the datasheet says it does not acknowledge
        else:
            raise _nack()

    def read(self, length: int) -> bytes:
        """One read transfer: the answer to the last command, words with CRCs."""
        if self._busy is not None and not self._busy[0].passed(self._busy[1]):
            raise _nack()
        if self._answer is None:
            raise _nack()  # nothing to say: the sensor does not acknowledge
        frame = bytearray(frame_words(self._answer))
        if self.faults.configured(self.name) == "corrupt":
            frame[2] ^= 0x5A  # the first word's CRC no longer fits
        # Bytes past the answer: the bus idles high.
        return bytes(frame[:length]) + b"\xff" * max(0, length - len(frame))


def emulate(board: VirtualBoard, address: int = ADDRESS) -> SCD4xChip:
    """An SCD41 at ``address`` measuring the board's room, with the board's faults."""
    return SCD4xChip(board.environment, board.faults, address, "scd41", serial=0x0F1E_2D3C_0000 + board.seed)


def emulate_scd40(board: VirtualBoard, address: int = ADDRESS) -> SCD4xChip:
    """An SCD40 (no single shot, no wake-up) at ``address``."""
    return SCD4xChip(board.environment, board.faults, address, "scd40", serial=0x0F1E_2D3C_1000 + board.seed)
