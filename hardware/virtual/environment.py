"""The indoor environment the virtual board's chips measure.

(Interface only; the model itself is being written.)
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Conditions:
    """The true values at one instant, in the units the chips' datasheets use."""

    temperature_celsius: float  # air around the board, after the CPU's heat
    pressure_pascals: float
    humidity_percent: float  # relative humidity at temperature_celsius
    illuminance_lux: float
    proximity: int  # LTR559 raw count 0..2047
    oxidising_ohms: float
    reducing_ohms: float
    nh3_ohms: float
    pm1_0_ugm3: float  # PMS5003 "standard particle" (CF=1) mass concentrations
    pm2_5_ugm3: float
    pm10_ugm3: float
    cpu_temperature_celsius: float


class Environment:
    """Deterministic for a seed; ``conditions()`` answers for the clock's now."""

    def __init__(self, clock, seed: int = 1) -> None:
        self.clock = clock
        self.seed = seed

    def conditions(self) -> Conditions:
        raise NotImplementedError
