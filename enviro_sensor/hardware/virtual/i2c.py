"""An emulated I2C bus that speaks smbus2's API to the vendor drivers.

Every SMBus call becomes what the Linux i2c-dev driver puts on the wire: a
write transfer (register pointer, then data) and/or a read transfer, with a
repeated start between them. Each chip on the bus sees only those transfers
(``I2CChip.write``/``read``), as a real chip sees only bytes.

A transfer to an address nobody acknowledges fails as on a Pi:
``OSError(EREMOTEIO)`` (errno 121). Faults set for a chip's device name are
applied here before the chip sees anything: ``absent`` is that missing
acknowledge, ``ioerror`` and a striking ``intermittent`` an ``OSError(EIO)``
(the error a Pi's controller reports for a transfer that went wrong).
Intermittent faults strike in spells of the board's time, so a reading of
many transfers fails as a whole now and then.

The bus counts its transactions (one per SMBus call, failed or not), in total
and per address, so a test can prove that something caused no bus traffic.
One lock serialises the bus, as the wire itself does.

Time: by default a transfer takes no time. With ``wire_time=True`` each one
holds the bus for as long as its bits take at ``clock_hz`` (100 kHz, the
Pi's default), spent with the board clock's ``sleep``: real time on the wall
clock, an advance of a ManualClock (so a test sees the wire time without
waiting for it). Intermittent faults are decided by the board clock's time.
"""

from __future__ import annotations

import ctypes
import errno
import os
import threading
from collections import Counter
from typing import TYPE_CHECKING, Protocol

from smbus2 import i2c_msg
from smbus2.smbus2 import I2C_M_RD

from enviro_sensor.hardware.virtual.clock import Clock, WallClock

if TYPE_CHECKING:
    from enviro_sensor.hardware.virtual.faults import Faults

# smbus2 refuses longer SMBus blocks before any ioctl: so does this bus.
BLOCK_MAX = 32


class I2CChip(Protocol):
    """What the bus needs from an emulated chip."""

    name: str  # the device name faults are set for ("bme280", ...)
    address: int

    def write(self, data: bytes) -> None:
        """Receive one write transfer (may be empty: an address-only probe)."""

    def read(self, length: int) -> bytes:
        """Answer one read transfer of ``length`` bytes."""


def _os_error(code: int) -> OSError:
    return OSError(code, os.strerror(code))


# The Pi's I2C clock unless config.txt raises it (i2c_arm_baudrate): 100 kHz.
BUS_CLOCK_HZ = 100_000
# Each byte on the wire is 8 bits and an acknowledge; each message adds a
# start (or repeated start) and its address byte; the transaction, a stop.
BITS_PER_BYTE = 9


def wire_seconds(messages: int, payload_bytes: int, clock_hz: int = BUS_CLOCK_HZ) -> float:
    """How long a transaction of ``messages`` carrying ``payload_bytes`` holds the wire."""
    bits = messages * (1 + BITS_PER_BYTE) + payload_bytes * BITS_PER_BYTE + 1
    return bits / clock_hz


class VirtualI2CBus:
    """I2C bus ``number`` with emulated chips attached; smbus2.SMBus-compatible.

    ``clock`` is the board's (the wall clock by default); ``wire_time``
    makes each transfer last its time on the wire at ``clock_hz``.
    """

    def __init__(
        self,
        faults: Faults,
        clock: Clock | None = None,
        number: int = 1,
        clock_hz: int = BUS_CLOCK_HZ,
        *,
        wire_time: bool = False,
    ) -> None:
        self.number = number
        self.clock_hz = clock_hz
        self.wire_time = wire_time
        self._faults = faults
        self._clock = clock if clock is not None else WallClock()
        self._chips: dict[int, I2CChip] = {}
        self._lock = threading.RLock()
        self._counts: Counter[int] = Counter()

    # -- wiring and counters ------------------------------------------------

    def attach(self, chip: I2CChip) -> None:
        """Put ``chip`` on the bus at its address."""
        with self._lock:
            if chip.address in self._chips:
                raise ValueError(f"address 0x{chip.address:02x} is taken on bus {self.number}")
            self._chips[chip.address] = chip

    def detach(self, address: int) -> I2CChip:
        """Take the chip at ``address`` off the bus (KeyError when there is none)."""
        with self._lock:
            return self._chips.pop(address)

    def chip(self, address: int) -> I2CChip:
        """The chip at ``address`` (KeyError when there is none)."""
        return self._chips[address]

    @property
    def addresses(self) -> list[int]:
        """Addresses with a chip attached, ascending."""
        with self._lock:
            return sorted(self._chips)

    @property
    def transactions(self) -> int:
        """SMBus calls made on this bus so far, to any address."""
        with self._lock:
            return sum(self._counts.values())

    @property
    def transactions_by_address(self) -> dict[int, int]:
        """SMBus calls made so far, by address (a copy)."""
        with self._lock:
            return dict(self._counts)

    # -- the smbus2.SMBus interface -----------------------------------------

    def __enter__(self) -> VirtualI2CBus:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Release this handle. The bus belongs to the board, so nothing closes."""

    def write_quick(self, i2c_addr: int, force: bool | None = None) -> None:
        """Address the chip and stop: an acknowledge check, as ``i2cdetect`` does."""
        self._transfer(i2c_addr, write=b"")

    def read_byte(self, i2c_addr: int, force: bool | None = None) -> int:
        """Read one byte from wherever the chip's pointer is."""
        return self._transfer(i2c_addr, read=1)[0]

    def write_byte(self, i2c_addr: int, value: int, force: bool | None = None) -> None:
        """Send one byte (a command, or a register pointer)."""
        self._transfer(i2c_addr, write=bytes([value & 0xFF]))

    def read_byte_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        """Read the byte at ``register``."""
        return self._transfer(i2c_addr, write=bytes([register & 0xFF]), read=1)[0]

    def write_byte_data(self, i2c_addr: int, register: int, value: int, force: bool | None = None) -> None:
        """Write ``value`` to ``register``."""
        self._transfer(i2c_addr, write=bytes([register & 0xFF, value & 0xFF]))

    def read_word_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        """Read a 16-bit word at ``register``; SMBus sends the low byte first."""
        low, high = self._transfer(i2c_addr, write=bytes([register & 0xFF]), read=2)
        return low | high << 8

    def write_word_data(self, i2c_addr: int, register: int, value: int, force: bool | None = None) -> None:
        """Write a 16-bit word to ``register``, low byte first."""
        self._transfer(i2c_addr, write=bytes([register & 0xFF, value & 0xFF, (value >> 8) & 0xFF]))

    def read_i2c_block_data(
        self, i2c_addr: int, register: int, length: int, force: bool | None = None
    ) -> list[int]:
        """Read ``length`` bytes starting at ``register`` (at most 32)."""
        if length > BLOCK_MAX:
            raise ValueError(f"Desired block length over {BLOCK_MAX} bytes")
        return list(self._transfer(i2c_addr, write=bytes([register & 0xFF]), read=length))

    def write_i2c_block_data(
        self, i2c_addr: int, register: int, data: list[int], force: bool | None = None
    ) -> None:
        """Write ``data`` starting at ``register`` (at most 32 bytes)."""
        if len(data) > BLOCK_MAX:
            raise ValueError(f"Data length cannot exceed {BLOCK_MAX} bytes")
        self._transfer(i2c_addr, write=bytes([register & 0xFF, *(b & 0xFF for b in data)]))

    def i2c_rdwr(self, *i2c_msgs: i2c_msg) -> None:
        """Run smbus2 ``i2c_msg`` reads and writes as one combined transaction.

        Read messages get their buffers filled, as the kernel fills them.
        """
        if not i2c_msgs:
            return
        with self._lock:
            first = i2c_msgs[0].addr
            self._counts[first] += 1
            for msg in i2c_msgs:
                chip = self._addressed(msg.addr)
                if msg.flags & I2C_M_RD:
                    data = chip.read(msg.len)
                    ctypes.memmove(msg.buf, bytes(data), msg.len)
                else:
                    chip.write(bytes(msg))
            self._occupy(len(i2c_msgs), sum(msg.len for msg in i2c_msgs))

    # -- the wire -------------------------------------------------------------

    def _transfer(self, address: int, write: bytes | None = None, read: int = 0) -> bytes:
        with self._lock:
            self._counts[address] += 1
            chip = self._addressed(address)
            if write is not None:
                chip.write(write)
            data = bytes(chip.read(read)) if read else b""
            self._occupy((write is not None) + bool(read), len(write or b"") + read)
            return data

    def _occupy(self, messages: int, payload_bytes: int) -> None:
        """Hold the bus for as long as the transfer takes on the wire, if asked to.

        Spent on the board's clock, with the bus lock held: another transfer
        waits for the wire as on a real bus.
        """
        if self.wire_time:
            self._clock.sleep(wire_seconds(messages, payload_bytes, self.clock_hz))

    def _addressed(self, address: int) -> I2CChip:
        """The chip that acknowledges ``address``, or the error a Pi gives."""
        chip = self._chips.get(address)
        if chip is None:
            raise _os_error(errno.EREMOTEIO)
        # Intermittent faults strike in spells of time (see Faults.check).
        fault = self._faults.check(chip.name, at=self._clock.now())
        if fault == "absent":
            raise _os_error(errno.EREMOTEIO)
        if fault in ("ioerror", "intermittent"):
            raise _os_error(errno.EIO)
        return chip
