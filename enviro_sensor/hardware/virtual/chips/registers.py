"""The register-pointer protocol most I2C sensors share.

A write transfer's first byte sets the register pointer and the bytes after
it are written from there; a read transfer answers from the pointer on. The
pointer advances after every byte (auto-increment), which is how the drivers
read a block such as the BME280's calibration in one transfer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from enviro_sensor.hardware.virtual.faults import Faults


class RegisterChip:
    """Base for chips whose bus protocol is a register pointer with auto-increment.

    Subclasses give ``read_register``/``write_register`` for single registers
    and may override ``before_read`` (called once per read transfer, so a
    block read sees one consistent state) and ``write_block``.
    """

    name = "chip"

    def __init__(self, address: int, faults: Faults) -> None:
        self.address = address
        self.faults = faults
        self._pointer = 0

    def fault(self) -> str | None:
        """The fault configured for this chip (faults that shape its answers)."""
        return self.faults.configured(self.name)

    def write(self, data: bytes) -> None:
        """One write transfer: pointer, then data."""
        if not data:
            return  # an address-only probe
        self._pointer = data[0]
        if len(data) > 1:
            self.write_block(data[0], data[1:])

    def read(self, length: int) -> bytes:
        """One read transfer from the pointer on."""
        self.before_read()
        out = bytearray()
        for _ in range(length):
            out.append(self.read_register(self._pointer) & 0xFF)
            self._pointer = (self._pointer + 1) & 0xFF
        return bytes(out)

    def write_block(self, register: int, data: bytes) -> None:
        """Write ``data`` to consecutive registers from ``register`` on."""
        for offset, value in enumerate(data):
            self.write_register((register + offset) & 0xFF, value)
        self._pointer = (register + len(data)) & 0xFF

    def before_read(self) -> None:
        """Bring the chip's state up to date before a read transfer."""

    def read_register(self, register: int) -> int:
        """The byte at ``register`` (0 for registers the chip does not have)."""
        return 0

    def write_register(self, register: int, value: int) -> None:
        """Store ``value`` at ``register`` (ignored where the chip has no register)."""
