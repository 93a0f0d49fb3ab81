"""Sensirion's Python drivers on an smbus2 bus, with time from the service's clock.

Sensirion's generated drivers (``sensirion-i2c-scd4x`` and its kin) talk to
a "channel" (``sensirion_driver_adapters.I2cChannel``) that frames words
with the CRC-8 and hands each command to a *connection* with an
``execute(slave_address, command)`` method. The package's own connection
drives a ``LinuxI2cTransceiver`` that opens ``/dev/i2c-N`` itself and waits
with ``time.sleep``; neither takes the board's bus or clock. The connection
here is that injection point, built from what the driver's command gives
(bytes to write, the wait before reading, bytes to read, the time the
sensor stays busy afterwards):

- the write and the read are two transactions with a stop between them, as
  Sensirion's datasheets require (a repeated start is not allowed), made
  with smbus2's ``i2c_rdwr`` on the injected bus;
- the waits go through the injected clock's ``sleep``;
- bus errors stay the ``OSError`` the bus raised, so the collector counts
  them as I/O errors; a wrong CRC is the driver's ``I2cChecksumError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sensirion_i2c_driver import CrcCalculator
from sensirion_i2c_driver.errors import I2cChecksumError
from smbus2 import i2c_msg

if TYPE_CHECKING:
    from enviro_sensor.clocks import Clock

# Sensirion's CRC-8: polynomial 0x31, initialisation 0xFF, no final XOR.
SENSIRION_CRC = CrcCalculator(8, 0x31, 0xFF, 0x00)


class SmbusConnection:
    """What ``I2cChannel`` needs of a connection, over an smbus2-compatible bus."""

    def __init__(self, bus: Any, clock: Clock) -> None:
        self.bus = bus
        self.clock = clock

    def execute(self, slave_address: int, command: Any, wait_post_process: bool = True) -> Any:
        """Write the command, wait, read its answer; the driver interprets the bytes."""
        if command.tx_data:
            self.bus.i2c_rdwr(i2c_msg.write(slave_address, bytes(command.tx_data)))
        if command.read_delay > 0:
            self.clock.sleep(command.read_delay)
        data = b""
        if command.rx_length:
            message = i2c_msg.read(slave_address, command.rx_length)
            self.bus.i2c_rdwr(message)
            data = bytes(message)
        if wait_post_process and command.post_processing_time > 0:
            self.clock.sleep(command.post_processing_time)
        return command.interpret_response(data)


def is_checksum_error(err: BaseException) -> bool:
    """True for the driver's CRC mismatch (a "checksum" read error)."""
    return isinstance(err, I2cChecksumError)
