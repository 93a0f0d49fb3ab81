"""Faults injected into the virtual board's devices.

A demo sets them with ``ENVIRO_VIRTUAL_FAULTS="bme280=absent,pms5003=corrupt"``;
tests call ``Faults.set``/``clear``. Each emulation asks ``check(device)`` on
every operation and decides what the answer looks like on its bus (an I2C
chip that is ``absent`` does not acknowledge; a PMS5003 that is ``silent``
sends nothing).
"""

from __future__ import annotations

import math
import random
import threading

# Which faults make sense for which device.
DEVICE_FAULTS: dict[str, frozenset[str]] = {
    "bme280": frozenset({"absent", "ioerror", "wrong-id", "stuck", "out-of-range", "intermittent"}),
    "bmp280": frozenset({"absent", "ioerror", "wrong-id", "stuck", "out-of-range", "intermittent"}),
    "ltr559": frozenset({"absent", "ioerror", "wrong-id", "stuck", "out-of-range", "intermittent"}),
    "ads1015": frozenset({"absent", "ioerror", "stuck", "out-of-range", "intermittent"}),
    "aht10": frozenset({"absent", "ioerror", "stuck", "out-of-range", "corrupt", "intermittent"}),
    "pms5003": frozenset({"absent", "corrupt", "silent", "out-of-range", "intermittent"}),
    "st7735": frozenset({"absent", "ioerror", "intermittent"}),
}


class FaultSpecError(ValueError):
    """ENVIRO_VIRTUAL_FAULTS names an unknown device or a fault it cannot have."""


def parse_fault_spec(spec: str) -> dict[str, str]:
    """``"bme280=absent, pms5003=corrupt"`` -> ``{"bme280": "absent", ...}``."""
    faults: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        device, sep, fault = (text.strip().lower() for text in item.partition("="))
        if not sep or not device or not fault:
            raise FaultSpecError(f"expected device=fault, got {item!r}")
        if device not in DEVICE_FAULTS:
            raise FaultSpecError(f"unknown device {device!r} (known: {', '.join(sorted(DEVICE_FAULTS))})")
        if fault not in DEVICE_FAULTS[device]:
            allowed = ", ".join(sorted(DEVICE_FAULTS[device]))
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
