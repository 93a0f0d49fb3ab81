"""Faults injected into the virtual board's devices.

A demo sets them with ``ENVIRO_VIRTUAL_FAULTS="bme280=absent,pms5003=corrupt"``;
tests call ``Faults.set``/``clear``. Each emulation asks ``check(device)`` on
every operation and decides what the answer looks like on its bus (an I2C
chip that is ``absent`` does not acknowledge; a PMS5003 that is ``silent``
sends nothing).

Which device may have which fault is a table: ``DEVICE_FAULTS`` holds the
board's own devices, and an emulated chip defined elsewhere (a new part, or
one a test defines) declares its device name and faults::

    register_device_faults("geiger", {"absent", "ioerror", "intermittent"})

From then on ``parse_fault_spec`` and ``Faults.set`` accept it like a
built-in device; ``known_device_faults()`` is the whole table. A new part's
module in ``enviro_sensor.hardware.virtual.chips`` declares at import, and the package
imports its modules, so the declaration is in force before any fault
setting is checked. A chip that a test defines declares in a fixture and
takes it back with ``unregister_device_faults``, so that other tests see
the board's own table.

Time: intermittent faults of I2C chips strike in spells of the board's
clock (the bus passes its time to ``check``); nothing here reads a clock.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterable, Mapping
from types import MappingProxyType

# Which faults make sense for which of the board's own devices.
DEVICE_FAULTS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "bme280": frozenset({"absent", "ioerror", "wrong-id", "stuck", "out-of-range", "intermittent"}),
        "bmp280": frozenset({"absent", "ioerror", "wrong-id", "stuck", "out-of-range", "intermittent"}),
        "ltr559": frozenset({"absent", "ioerror", "wrong-id", "stuck", "out-of-range", "intermittent"}),
        "ads1015": frozenset({"absent", "ioerror", "stuck", "out-of-range", "intermittent"}),
        "aht10": frozenset({"absent", "ioerror", "stuck", "out-of-range", "corrupt", "intermittent"}),
        "pms5003": frozenset({"absent", "corrupt", "silent", "out-of-range", "intermittent"}),
        "st7735": frozenset({"absent", "ioerror", "intermittent"}),
    }
)

# Devices that emulations declared beyond the board's own.
_registered: dict[str, frozenset[str]] = {}
_registry_lock = threading.Lock()


def register_device_faults(device: str, faults: Iterable[str]) -> None:
    """Declare an emulated device and the faults it can have.

    ``device`` is the name the chip asks ``Faults.check`` with (its
    ``name``), in lower case; ``faults`` are lower-case words, such as the
    built-in ones (absent, ioerror, intermittent, ...) that the I2C bus
    applies by itself. Declaring the same set again does nothing; a
    built-in device, or a name already declared with other faults, is
    refused with ValueError.
    """
    allowed = frozenset(faults)
    if not device or device != device.lower() or any(c in device for c in "=, "):
        raise ValueError(f"a device name is one lower-case word, got {device!r}")
    if not allowed or any(not f or f != f.lower() or any(c in f for c in "=, ") for f in allowed):
        raise ValueError(f"{device}: faults are lower-case words, got {sorted(allowed)!r}")
    if device in DEVICE_FAULTS:
        raise ValueError(f"{device} is one of the board's own devices")
    with _registry_lock:
        if _registered.get(device, allowed) != allowed:
            raise ValueError(f"{device} is declared already, with faults {sorted(_registered[device])}")
        _registered[device] = allowed


def unregister_device_faults(device: str) -> None:
    """Forget a declared device (tests that declared one clean up with this)."""
    with _registry_lock:
        _registered.pop(device, None)


def known_device_faults() -> dict[str, frozenset[str]]:
    """Every device faults may be set for, built-in and declared, with its faults."""
    with _registry_lock:
        return {**DEVICE_FAULTS, **_registered}


class FaultSpecError(ValueError):
    """ENVIRO_VIRTUAL_FAULTS names an unknown device or a fault it cannot have."""


def parse_fault_spec(spec: str) -> dict[str, str]:
    """``"bme280=absent, pms5003=corrupt"`` -> ``{"bme280": "absent", ...}``."""
    known = known_device_faults()
    faults: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        device, sep, fault = (text.strip().lower() for text in item.partition("="))
        if not sep or not device or not fault:
            raise FaultSpecError(f"expected device=fault, got {item!r}")
        if device not in known:
            raise FaultSpecError(f"unknown device {device!r} (known: {', '.join(sorted(known))})")
        if fault not in known[device]:
            allowed = ", ".join(sorted(known[device]))
            raise FaultSpecError(f"{device} cannot have fault {fault!r} (it can have: {allowed})")
        faults[device] = fault
    return faults


# Intermittent faults strike about one time in three.
INTERMITTENT_CHANCE = 1 / 3
# Length of the spells in which an intermittent fault strikes or spares a
# device that asks by time (an I2C chip: one reading is many transfers).
INTERMITTENT_SPELL_SECONDS = 3.0


class Faults:
    """The faults in force, per device; safe to change from any thread."""

    def __init__(self, initial: dict[str, str] | None = None, seed: int = 0) -> None:
        self._faults = dict(initial or {})
        self._lock = threading.Lock()
        self._seed = seed
        # Intermittent faults fail about one operation in three, repeatably.
        self._random = random.Random(seed)

    def set(self, device: str, fault: str) -> None:
        """Inject ``fault`` into ``device`` (validated as ENVIRO_VIRTUAL_FAULTS is)."""
        parse_fault_spec(f"{device}={fault}")  # same validation as the setting
        with self._lock:
            self._faults[device] = fault

    def clear(self, device: str | None = None) -> None:
        """Clear one device's fault, or all of them: the device recovers."""
        with self._lock:
            if device is None:
                self._faults.clear()
            else:
                self._faults.pop(device, None)

    def configured(self, device: str) -> str | None:
        """The fault set for ``device``, whether or not it strikes this time."""
        with self._lock:
            return self._faults.get(device)

    def check(self, device: str, at: float | None = None) -> str | None:
        """The fault that strikes this operation on ``device``, if any.

        A steady fault always strikes; ``intermittent`` strikes now and then
        and is returned as ``"intermittent"`` when it does: for about one
        operation in three, or, given the time ``at``, throughout about one
        spell of INTERMITTENT_SPELL_SECONDS in three. A reading that takes
        dozens of transfers then fails as a whole now and then, as with a
        loose connector, instead of nearly always.
        """
        with self._lock:
            fault = self._faults.get(device)
            if fault != "intermittent":
                return fault
            if at is None:
                strikes = self._random.random() < INTERMITTENT_CHANCE
            else:
                spell = math.floor(at / INTERMITTENT_SPELL_SECONDS)
                # A str seed is hashed the same way in every process.
                strikes = random.Random(f"{self._seed}:{device}:{spell}").random() < INTERMITTENT_CHANCE
            return fault if strikes else None
