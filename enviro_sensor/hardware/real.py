"""The real Enviro+ on a Raspberry Pi: the Pi's own buses and GPIO lines.

Thin on purpose: the vendor drivers do the work. Two ways a driver set-up
fails here that ``except Exception`` does not see or does not expect:

- ``gpiodevice`` raises **SystemExit** ("suitable gpiochip not found") when
  no GPIO chip matches, and RuntimeError ("No compatible platform
  detected!") off a Pi. Drivers that take a pin (pms5003, st7735) run it in
  their constructors, so callers must treat SystemExit from a driver's
  construction as a failure of that sensor, not as the process exiting.
- ``spidev.SpiDev(0, 1)`` raises FileNotFoundError when SPI is not enabled.
"""

from __future__ import annotations

import threading
from typing import Any

import smbus2
import st7735  # type: ignore[import-untyped]

from enviro_sensor.hardware.board import PINS, Board

# The SoC's temperature in millidegrees Celsius (Linux thermal sysfs).
THERMAL_ZONE = "/sys/class/thermal/thermal_zone0/temp"
# Pimoroni's Enviro+ examples drive the LCD at 10 MHz.
LCD_SPI_SPEED_HZ = 10_000_000


def read_cpu_temperature(path: str = THERMAL_ZONE) -> float:
    """Degrees Celsius from a thermal zone file holding millidegrees."""
    with open(path, encoding="ascii") as file:
        text = file.read().strip()
    try:
        return int(text) / 1000
    except ValueError:
        raise ValueError(f"{path}: expected millidegrees, got {text!r}") from None


class SerialisedBus:
    """An smbus2.SMBus that several threads may share.

    smbus2 picks the target chip with an ioctl on the bus's one file
    descriptor before each transfer, so two threads interleaving could send
    one chip's transfer to another. One lock per bus keeps each
    select-and-transfer whole; the collector polls groups from separate
    threads, all on bus 1.
    """

    def __init__(self, bus: Any) -> None:
        self._bus = bus
        self._lock = threading.RLock()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._bus, name)
        if not callable(attribute):
            return attribute

        def serialised(*args, **kwargs):
            with self._lock:
                return attribute(*args, **kwargs)

        return serialised


class RealBoard(Board):
    """The Enviro+ as wired on a Pi: I2C bus 1, /dev/serial0, SPI 0.1, BCM pins."""

    kind = "real"

    def __init__(self, settings: Any, *, thermal_zone: str = THERMAL_ZONE) -> None:
        self._settings = settings
        self._thermal_zone = thermal_zone
        self._buses: dict[int, SerialisedBus] = {}
        self._lock = threading.Lock()

    def i2c_bus(self, number: int = 1) -> SerialisedBus:
        """/dev/i2c-<number>, opened on first use and shared after."""
        with self._lock:
            if number not in self._buses:
                self._buses[number] = SerialisedBus(smbus2.SMBus(number))
            return self._buses[number]

    def driver_pin(self, name: str) -> int:
        """The BCM GPIO number for ``PINS[name]``: the driver requests the line itself."""
        return PINS[name]

    def serial_device(self) -> str:
        """The serial port the settings name (``ENVIRO_SERIAL_DEVICE``)."""
        return self._settings.serial_device

    def open_lcd(self) -> Any:
        """The vendor ST7735 driver on SPI 0.1, as the Enviro+ wires the LCD.

        May raise SystemExit (no gpiochip) or OSError (no SPI): see the module notes.
        """
        return st7735.ST7735(
            port=0,
            cs=1,
            dc=PINS["lcd_dc"],
            backlight=PINS["lcd_backlight"],
            rotation=270,
            spi_speed_hz=LCD_SPI_SPEED_HZ,
        )

    def cpu_temperature(self) -> float:
        """The SoC's temperature in degrees Celsius."""
        return read_cpu_temperature(self._thermal_zone)

    def close(self) -> None:
        """Close the I2C buses opened so far."""
        with self._lock:
            buses, self._buses = list(self._buses.values()), {}
        for bus in buses:
            bus.close()
