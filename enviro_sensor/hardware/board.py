"""The interface every board offers to the sensor readers and the LCD."""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any, TypeAlias

# An emulated I2C chip for the virtual board: a factory ``(board, address)
# -> chip``, or its import string "package.module:name", imported on use.
ChipEmulation: TypeAlias = str | Callable[[Any, int], Any]

# Pins the drivers need, named by what they do. The numbers are the BCM GPIO
# lines the Enviro+ wires them to (Pimoroni's schematic).
PINS = {
    "pms5003_enable": 22,
    "pms5003_reset": 27,
    "gas_heater": 24,
    "lcd_dc": 9,
    "lcd_backlight": 12,
}


class Board(abc.ABC):
    """Buses and pins for the vendor drivers, real or emulated."""

    kind: str

    @abc.abstractmethod
    def i2c_bus(self, number: int = 1) -> Any:
        """An smbus2.SMBus-like object for I2C bus ``number``."""

    def provide_i2c_chip(  # noqa: B027 - a real board has its real chips already
        self, emulation: ChipEmulation, address: int, bus: int = 1
    ) -> None:
        """Make sure a chip answers at ``address`` on I2C bus ``bus``.

        A reader calls this before it opens its part, naming the emulation
        that stands in for it. A real board does nothing: the part is wired
        or it is not, and the reader finds out. The virtual board attaches
        ``emulation`` there unless a chip is there already.
        """

    @abc.abstractmethod
    def driver_pin(self, name: str) -> Any:
        """The value to pass as a vendor driver's pin argument for ``PINS[name]``.

        A real board returns the GPIO number (the driver requests the line);
        the virtual board returns a gpiodevice ``(lines, offset)`` tuple, which
        ``gpiodevice.get_pin`` passes through unchanged.
        """

    @abc.abstractmethod
    def serial_device(self) -> str:
        """Path of the serial port the PMS5003 is on."""

    def open_microphone(self) -> Any:
        """The microphone's capture for the noise reader, or None for the Pi's own.

        None (a real board): enviroplus.noise records the ALSA device
        "adau7002" through sounddevice. Otherwise an object whose
        ``capture(frames, sample_rate)`` returns that many mono samples as
        the I2S port delivers them (S32_LE), raising OSError when the
        capture fails (EPIPE: an overrun).
        """
        return None

    @abc.abstractmethod
    def open_lcd(self) -> Any:
        """A constructed st7735.ST7735 driver for the board's 160x80 LCD."""

    def lcd_frame(self) -> Any:
        """What the LCD panel holds now as a PIL image, when it can be read back.

        Real panels are write-only: None.
        """
        return None

    def probe_spi(self, port: int, chip_select: int) -> None:  # noqa: B027 - see probe_gpio
        """Raise OSError (ENOENT, EACCES) when SPI ``port``.``chip_select`` cannot be opened."""

    def probe_gpio(self) -> None:  # noqa: B027 - a board without the check has nothing to find
        """Raise OSError (ENOENT, EACCES) when the GPIO chip cannot be opened."""

    def probe_microphone(self) -> None:  # noqa: B027 - see probe_gpio
        """Raise OSError when the microphone's capture device is not there."""

    @abc.abstractmethod
    def cpu_temperature(self) -> float:
        """The Pi's CPU temperature in degrees Celsius."""

    def close(self) -> None:  # noqa: B027 - most boards hold nothing to release
        """Release buses, pins and threads."""
