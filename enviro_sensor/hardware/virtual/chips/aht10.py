"""Emulated Aosong AHT10 humidity and temperature sensor at 0x38.

A command chip, not a register chip (AHT10 datasheet, "communication"):
- 0xE1 0x08 0x00 initialises it and sets the calibration-enabled bit,
- 0xAC 0x33 0x00 triggers a measurement, busy for up to 75 ms,
- 0xBA is a soft reset (back to the power-on state within 20 ms),
- a read returns the status byte (bit 7 busy, bit 3 calibration enabled),
  then 20 bits of humidity and 20 bits of temperature, packed in 5 bytes.

Conversions (datasheet "signal transformation"):
    RH = S_RH / 2**20 * 100 %        T = S_T / 2**20 * 200 - 50 C

Any other byte written (such as the register number smbus2's
``read_i2c_block_data`` sends first) is ignored, as the part ignores it.
As an extra breakout on the header it measures the room.

Time: a measurement and a soft reset last their datasheet times on a
``Stopwatch`` (the board's clock, or real time for a driver that waits
with ``time.sleep``).

``emulate(board, address)`` ("enviro_sensor.hardware.virtual.chips.aht10:emulate") makes
one for ``VirtualBoard.provide_i2c_chip``; the AHT10's address is fixed at
0x38 by the part, but the factory takes any, for parts that answer
elsewhere.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from enviro_sensor.hardware.virtual.clock import Stopwatch

if TYPE_CHECKING:
    from enviro_sensor.hardware.virtual import VirtualBoard
    from enviro_sensor.hardware.virtual.environment import Environment
    from enviro_sensor.hardware.virtual.faults import Faults

ADDRESS = 0x38

CMD_INITIALISE = 0xE1
CMD_TRIGGER = 0xAC
CMD_SOFT_RESET = 0xBA

STATUS_BUSY = 0x80
STATUS_CALIBRATED = 0x08

MEASUREMENT_SECONDS = 0.075
RESET_SECONDS = 0.020
FULL_SCALE = 1 << 20


def encode_measurement(humidity_percent: float, celsius: float) -> bytes:
    """The 5 data bytes for a humidity and temperature (the inverse of ``decode_measurement``)."""
    s_rh = max(0, min(FULL_SCALE - 1, round(humidity_percent / 100.0 * FULL_SCALE)))
    s_t = max(0, min(FULL_SCALE - 1, round((celsius + 50.0) / 200.0 * FULL_SCALE)))
    packed = s_rh << 20 | s_t
    return packed.to_bytes(5, "big")


def decode_measurement(data: bytes) -> tuple[float, float]:
    """Humidity (%) and temperature (C) from the 5 data bytes after the status byte."""
    packed = int.from_bytes(data[:5], "big")
    s_rh, s_t = packed >> 20, packed & (FULL_SCALE - 1)
    return s_rh / FULL_SCALE * 100.0, s_t / FULL_SCALE * 200.0 - 50.0


class AHT10Chip:
    """An AHT10 measuring the room's humidity and temperature."""

    name = "aht10"

    def __init__(
        self, environment: Environment, faults: Faults, address: int = ADDRESS, seed: int = 0
    ) -> None:
        self.address = address
        self.environment = environment
        self.faults = faults
        self._garble = random.Random(seed)
        self._power_on()

    def _power_on(self) -> None:
        self._calibrated = False
        self._measuring: Stopwatch | None = None
        self._resetting: Stopwatch | None = None
        self._data = bytes(5)

    def _fault(self) -> str | None:
        return self.faults.configured(self.name)

    def write(self, data: bytes) -> None:
        """One write transfer: a command and its parameters."""
        if not data:
            return
        command = data[0]
        if command == CMD_SOFT_RESET:
            self._power_on()
            self._resetting = Stopwatch(self.environment.clock)
        elif command == CMD_INITIALISE and data[1:3] == b"\x08\x00":
            self._calibrated = True
        elif command == CMD_TRIGGER and data[1:3] == b"\x33\x00":
            self._measuring = Stopwatch(self.environment.clock)

    def _busy(self) -> bool:
        if self._resetting is not None and not self._resetting.passed(RESET_SECONDS):
            return True
        if self._measuring is None:
            return False
        return self._fault() == "stuck" or not self._measuring.passed(MEASUREMENT_SECONDS)

    def read(self, length: int) -> bytes:
        """One read transfer: status, then the latest measurement."""
        fault = self._fault()
        if self._measuring is not None and not self._busy():
            self._measuring = None
            if fault == "out-of-range":
                self._data = b"\xff" * 5
            else:
                c = self.environment.conditions()
                self._data = encode_measurement(c.room_humidity_percent, c.room_temperature_celsius)
        status = (STATUS_BUSY if self._busy() else 0) | (STATUS_CALIBRATED if self._calibrated else 0)
        data = self._data
        if fault == "corrupt":
            # Inconsistent data: the status denies calibration and the bits
            # differ from one read of the same measurement to the next.
            status &= ~STATUS_CALIBRATED
            data = bytes(b ^ self._garble.randrange(256) for b in data)
        # Bytes past the sixth: the bus idles high.
        frame = bytes([status]) + data + b"\xff" * max(0, length - 6)
        return frame[:length]


def emulate(board: VirtualBoard, address: int = ADDRESS) -> AHT10Chip:
    """An AHT10 at ``address`` measuring the board's room, with the board's faults."""
    return AHT10Chip(board.environment, board.faults, address, seed=board.seed)
