"""The interface every board offers to the retrievers and the LCD."""

from __future__ import annotations

import abc
from typing import Any

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

    @abc.abstractmethod
    def open_lcd(self) -> Any:
        """A constructed st7735.ST7735 driver for the board's 160x80 LCD."""

    def lcd_frame(self) -> Any:
        """What the LCD panel holds now as a PIL image, when it can be read back.

        Real panels are write-only: None.
        """
        return None

    @abc.abstractmethod
    def cpu_temperature(self) -> float:
        """The Pi's CPU temperature in degrees Celsius."""

    def close(self) -> None:  # noqa: B027 - most boards hold nothing to release
        """Release buses, pins and threads."""
