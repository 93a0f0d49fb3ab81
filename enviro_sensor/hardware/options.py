"""The board's settings: which board, the virtual board's seed and faults, the real one's serial port."""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping

from enviro_sensor.config import parsers
from enviro_sensor.config.declarations import Setting, declare


@parsers.described("device=fault pairs, comma separated, or empty for none")
def device_faults(text: str) -> Mapping[str, str]:
    """``device=fault`` pairs; which devices and faults exist is checked with the options."""
    faults = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        device, sep, fault = (part.strip().lower() for part in item.partition("="))
        if not sep or not device or not fault:
            raise ValueError(f"expected device=fault, got {item!r}")
        faults[device] = fault
    return types.MappingProxyType(faults)


@dataclasses.dataclass(frozen=True)
class BoardOptions:
    #: auto, real or virtual (ENVIRO_BOARD).
    board: str
    virtual_seed: int
    virtual_faults: Mapping[str, str]
    serial_device: str


def check_faults(options: BoardOptions) -> None:
    """Faults the virtual board does not know stop start-up, naming the setting.

    Checked by the virtual board's own table, imported only when faults are
    set, so a real board without faults imports nothing of the emulation.
    """
    if not options.virtual_faults:
        return
    from enviro_sensor.hardware.virtual.faults import FaultSpecError, parse_fault_spec

    spec = ",".join(f"{device}={fault}" for device, fault in options.virtual_faults.items())
    try:
        parse_fault_spec(spec)
    except FaultSpecError as err:
        raise FaultSpecError(f"ENVIRO_VIRTUAL_FAULTS: {err}") from None


SETTINGS = declare(
    "board",
    BoardOptions,
    Setting(
        "board",
        "auto",
        parsers.choice("auto", "real", "virtual"),
        "`auto` uses the real board when /dev/i2c-1 exists, else the virtual one",
    ),
    Setting(
        "virtual_seed",
        "1",
        parsers.integer(0, 2**32 - 1),
        "seed of the virtual board's environment model (same seed, same readings)",
    ),
    Setting(
        "virtual_faults",
        "",
        device_faults,
        "faults to inject on the virtual board, e.g. `bme280=absent,pms5003=corrupt`",
    ),
    Setting("serial_device", "/dev/serial0", parsers.text, "serial port of the PMS5003 on the real board"),
    prefix="",
    check=check_faults,
)
