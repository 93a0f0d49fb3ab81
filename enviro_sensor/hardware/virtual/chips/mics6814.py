"""Emulated SGX MiCS-6814 gas sensor: three heated metal-oxide elements.

The elements (oxidising, reducing, NH3) change resistance with the gases
around them, but only when hot: the Enviro+ switches the heater with GPIO 24.
With the heater off the elements cool and drift to a high "cold"
resistance; switched on, they settle to the model's values over minutes,
which is the warm-up a reader has to wait out.

On the board each element is the upper half of a divider with a 56 kOhm
load to ground, fed from 3.3 V, and the ADS1015 measures the middle:
V = 3.3 * R / (R + 56000), so R = V * 56000 / (3.3 - V).

Time: the heater's warm-up and cool-down follow the board's clock (its
``now``), so a test advances a ManualClock through minutes of warm-up at once.
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from enviro_sensor.hardware.virtual.environment import Environment

SUPPLY_VOLTS = 3.3
LOAD_OHMS = 56_000.0

# Resistances of the cold elements (oxidising, reducing, NH3): far above
# their warm values, still inside what the ADC can tell from the supply.
COLD_OHMS = (900_000.0, 1_600_000.0, 1_300_000.0)
# Thermal time constant of the heated elements: about 99 % settled after
# ten minutes (five time constants).
HEATER_TIME_CONSTANT_SECONDS = 120.0


def divider_volts(ohms: float) -> float:
    """The voltage the ADC sees for an element of ``ohms``."""
    return SUPPLY_VOLTS * ohms / (ohms + LOAD_OHMS)


def element_ohms(volts: float) -> float:
    """The element resistance for a measured voltage (the inverse of ``divider_volts``)."""
    return volts * LOAD_OHMS / (SUPPLY_VOLTS - volts)


class MICS6814:
    """The three elements and their heater, on the board's clock."""

    def __init__(self, environment: Environment, heater_on: bool = False) -> None:
        self.environment = environment
        self._lock = threading.Lock()
        self._on = heater_on
        self._changed_at = environment.clock.now()
        # A heater on from the start counts as warm already (a board that
        # was running before the model began).
        self._heat_at_change = 1.0 if heater_on else 0.0

    def heater_changed(self, on: bool) -> None:
        """The heater line changed level (a GPIO listener)."""
        with self._lock:
            now = self.environment.clock.now()
            self._heat_at_change = self._heat(now)
            self._changed_at = now
            self._on = bool(on)

    @property
    def heater_on(self) -> bool:
        with self._lock:
            return self._on

    def heat(self) -> float:
        """How warm the elements are: 0 cold, 1 at working temperature."""
        with self._lock:
            return self._heat(self.environment.clock.now())

    def _heat(self, now: float) -> float:
        target = 1.0 if self._on else 0.0
        elapsed = max(0.0, now - self._changed_at)
        decay = math.exp(-elapsed / HEATER_TIME_CONSTANT_SECONDS)
        return target + (self._heat_at_change - target) * decay

    def resistances(self) -> tuple[float, ...]:
        """Oxidising, reducing and NH3 resistances in ohms, now."""
        conditions = self.environment.conditions()
        warm = (conditions.oxidising_ohms, conditions.reducing_ohms, conditions.nh3_ohms)
        heat = self.heat()
        # Resistance moves between cold and warm on a log scale, as a
        # metal-oxide conductance rises exponentially with temperature.
        return tuple(
            math.exp(heat * math.log(hot) + (1.0 - heat) * math.log(cold))
            for hot, cold in zip(warm, COLD_OHMS, strict=True)
        )

    def voltages(self) -> tuple[float, ...]:
        """The divider voltages on ADC channels 0, 1 and 2."""
        return tuple(divider_volts(ohms) for ohms in self.resistances())
