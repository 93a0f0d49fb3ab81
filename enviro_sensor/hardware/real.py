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

import errno
import glob
import os
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


def _open_and_close(path: str) -> None:
    """Raise what opening ``path`` for reading and writing raises (ENOENT, EACCES)."""
    os.close(os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK))


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

    def __init__(
        self, serial_device: str = "/dev/serial0", *, thermal_zone: str = THERMAL_ZONE, devices: str = "/dev"
    ) -> None:
        self._serial_device = serial_device
        #: Where the device files are (a test points it at a folder of its own).
        self._devices = devices
        self._thermal_zone = thermal_zone
        self._buses: dict[int, SerialisedBus] = {}
        self._lock = threading.Lock()

    def i2c_bus(self, number: int = 1) -> SerialisedBus:
        """/dev/i2c-<number>, opened on first use and shared after."""
        with self._lock:
            if number not in self._buses:
                self._buses[number] = SerialisedBus(
                    smbus2.SMBus(os.path.join(self._devices, f"i2c-{number}"))
                )
            return self._buses[number]

    def driver_pin(self, name: str) -> int:
        """The BCM GPIO number for ``PINS[name]``: the driver requests the line itself."""
        return PINS[name]

    def serial_device(self) -> str:
        """The serial port ``ENVIRO_SERIAL_DEVICE`` names."""
        return self._serial_device

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

    def probe_spi(self, port: int, chip_select: int) -> None:
        _open_and_close(os.path.join(self._devices, f"spidev{port}.{chip_select}"))

    def probe_gpio(self) -> None:
        # The Enviro+'s lines are on the SoC's chip: gpiochip0 (gpiochip4 on a Pi 5 with older kernels).
        chips = sorted(glob.glob(os.path.join(self._devices, "gpiochip*")))
        if not chips:
            raise FileNotFoundError(errno.ENOENT, "No GPIO chip", os.path.join(self._devices, "gpiochip0"))
        _open_and_close(chips[0])

    def probe_microphone(self) -> None:
        """The ALSA device enviroplus records from (``adau7002``), as PortAudio lists it."""
        try:
            import sounddevice  # type: ignore[import-untyped]
        except OSError as err:  # PortAudio is missing: its library cannot be loaded
            raise OSError(errno.ENOENT, f"PortAudio cannot be loaded: {err}", "libportaudio2") from None
        names = [str(device.get("name", "")) for device in sounddevice.query_devices()]
        if not any("adau7002" in name for name in names):
            raise OSError(errno.ENODEV, "No such device", "adau7002")

    def cpu_temperature(self) -> float:
        """The SoC's temperature in degrees Celsius."""
        return read_cpu_temperature(self._thermal_zone)

    def close(self) -> None:
        """Close the I2C buses opened so far."""
        with self._lock:
            buses, self._buses = list(self._buses.values()), {}
        for bus in buses:
            bus.close()
