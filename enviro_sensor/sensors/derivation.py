"""Values a sensor's own history yields: what a derivation is and gives back.

A reader returns what its chip measured, one read at a time. Some values
need more than one read: the ratio of a gas element's resistance to the
clean air it learned over days (``enviro_sensor.sensors.gas_baseline``), or the air
quality index from twelve hours of particulate averages
(``enviro_sensor.sensors.air_quality``). A kind declares such a derivation
(``SensorKind.derivation``); the collector keeps one per sensor and hands it
each fresh, calibrated read, with the time, before validation. The derived
fields are optional: while there is not enough history they are left out,
and the derivation says why in ``notes``, which JSON shows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Protocol


@dataclasses.dataclass(frozen=True)
class Derived:
    """What a derivation adds to one read."""

    #: New values by field key (only fields the kind declares).
    values: Mapping[str, float]
    #: Words by field key: why a derived value is absent, or what a coded
    #: one means (an AQI category's name, the pollutant that sets it).
    notes: Mapping[str, str] = dataclasses.field(default_factory=dict)


class Derivation(Protocol):
    """Keeps a sensor's history and derives values from each new read."""

    def derive(self, values: Mapping[str, float], at: float) -> Derived:
        """Take in one valid read made at ``at`` (seconds since the epoch) and derive from it."""
        ...

    def close(self) -> None:
        """Save what should outlive the process (called once, at shutdown)."""
        ...
