"""Is each interface a part needs there, and if not, what to do on a Raspberry Pi.

``enviro-sensor check`` runs these on the board it would open: on a Pi the
real device files, on the virtual board its emulation (whose faults make the
same errors). Each probe answers with a ``Finding``: the interface, whether
it answered, and for a missing one the Raspberry Pi OS step that enables it
(``raspi-config``'s non-interactive commands, or the ``config.txt`` line) or
the group the service's user must be in.
"""

from __future__ import annotations

import dataclasses
import errno
import os
from collections.abc import Callable

from enviro_sensor.hardware.board import Board

# Raspberry Pi OS keeps config.txt here since bookworm (/boot/config.txt before).
CONFIG_TXT = "/boot/firmware/config.txt"
# The user the service runs as in the systemd unit and the image.
SERVICE_USER = "enviro"

ENABLE = {
    "i2c": f"enable I2C: `sudo raspi-config nonint do_i2c 0` (or `dtparam=i2c_arm=on` in {CONFIG_TXT}), then reboot",
    "spi": f"enable SPI: `sudo raspi-config nonint do_spi 0` (or `dtparam=spi=on` in {CONFIG_TXT}), then reboot",
    "serial": (
        "enable the serial port for the PMS5003 and keep the login console off it: "
        "`sudo raspi-config nonint do_serial_hw 0 && sudo raspi-config nonint do_serial_cons 1` "
        f"(or `enable_uart=1` and `dtoverlay=pi3-miniuart-bt` in {CONFIG_TXT}, and no `console=serial0` "
        "in cmdline.txt), then reboot"
    ),
    "gpio": "no GPIO chip: this is not a Raspberry Pi, or its kernel lacks the GPIO character device",
    "microphone": (
        f"add `dtoverlay=adau7002-simple` to {CONFIG_TXT} and reboot (the Enviro+'s microphone); "
        "PortAudio must be installed too (`sudo apt install libportaudio2`)"
    ),
}
GROUPS = {"i2c": "i2c", "spi": "spi", "serial": "dialout", "gpio": "gpio", "microphone": "audio"}


@dataclasses.dataclass(frozen=True)
class Finding:
    """What one probe found."""

    #: What was probed, for people: "bme280: I2C bus 1 at 0x76".
    what: str
    ok: bool
    #: What answered, or the error.
    detail: str
    #: What to do about it (None when it answered).
    fix: str | None = None


def advice(interface: str, err: OSError) -> str:
    """The step that mends ``err`` from opening ``interface``."""
    if err.errno in (errno.EACCES, errno.EPERM):
        group = GROUPS[interface]
        return (
            f"add the service's user to the {group} group: `sudo usermod -aG {group} {SERVICE_USER}` "
            "(or your own user, then log in again)"
        )
    if interface == "i2c" and err.errno in (errno.ENXIO, errno.EREMOTEIO, errno.EIO, errno.ETIMEDOUT):
        return "nothing answers there: check the wiring and the address (`i2cdetect -y 1` lists what answers)"
    return ENABLE[interface]


def _finding(what: str, interface: str, probe: Callable[[], object], answered: str) -> Finding:
    try:
        probe()
    except OSError as err:
        return Finding(what, False, f"{err.strerror or err}", advice(interface, err))
    except SystemExit as err:
        # gpiodevice's way of saying "no suitable gpiochip" (see hardware.real).
        return Finding(what, False, str(err), ENABLE[interface])
    return Finding(what, True, answered)


def probe_i2c(board: Board, what: str, bus: int, address: int) -> Finding:
    """Does a chip acknowledge ``address`` on I2C bus ``bus``? (one receive-byte transfer)."""
    label = f"{what}: I2C bus {bus} at 0x{address:02x}"
    return _finding(label, "i2c", lambda: board.i2c_bus(bus).read_byte(address), "answers")


def probe_serial(board: Board, what: str) -> Finding:
    """Can the serial port be opened for reading and writing?"""
    path = board.serial_device()

    def open_port() -> None:
        os.close(os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK))

    return _finding(f"{what}: serial port {path}", "serial", open_port, "opens")


def probe_spi(board: Board, what: str, port: int = 0, chip_select: int = 1) -> Finding:
    label = f"{what}: SPI {port}.{chip_select}"
    return _finding(label, "spi", lambda: board.probe_spi(port, chip_select), "opens")


def probe_gpio(board: Board, what: str) -> Finding:
    return _finding(f"{what}: GPIO chip", "gpio", board.probe_gpio, "opens")


def probe_microphone(board: Board, what: str) -> Finding:
    return _finding(f"{what}: microphone (ALSA adau7002)", "microphone", board.probe_microphone, "found")
