"""Sensor groups: which readers are polled together, how often, under what route.

One module per group of chips (weather, gas, particulates, i2c), in the
manner of node_exporter's collectors: each group is enabled or disabled by
``ENVIRO_GROUPS`` and polled on its own schedule.
"""

from __future__ import annotations

import dataclasses

from retrievers.base import SensorReader

GROUP_NAMES = ("weather", "gas", "particulates", "i2c")
# Route names under /api/sensors; "pollution" is what the original service
# called the particulate route, kept so existing scripts keep working.
GROUP_ROUTES = {"weather": "weather", "gas": "gas", "particulates": "pollution", "i2c": "i2c"}
# A reading stays fresh for this many polling intervals (plus the read's own
# time): two polls may fail before it is called stale.
FRESH_INTERVALS = 3


@dataclasses.dataclass
class Group:
    """Readers polled on one schedule."""

    name: str
    interval: float
    readers: list[SensorReader]
    enabled: bool = True
    read_timeout: float = 10.0

    @property
    def route(self) -> str:
        return f"/api/sensors/{GROUP_ROUTES[self.name]}"

    @property
    def freshness(self) -> float:
        """Seconds a reading counts as current."""
        return FRESH_INTERVALS * self.interval + self.read_timeout


def build_groups(settings) -> list[Group]:
    """The groups the settings ask for, with their readers constructed (no I/O)."""
    from retrievers.gas import MICS6814Reader
    from retrievers.i2c import build_readers
    from retrievers.particulates import PMS5003Reader
    from retrievers.weather import BME280Reader, LTR559Reader

    readers = {
        "weather": lambda: [BME280Reader(settings.temperature_factor), LTR559Reader()],
        "gas": lambda: [MICS6814Reader(settings.gas_warmup)],
        "particulates": lambda: [PMS5003Reader()],
        "i2c": lambda: build_readers(settings.i2c_sensors),
    }
    groups = []
    for name in GROUP_NAMES:
        group_readers = readers[name]()
        groups.append(
            Group(
                name=name,
                interval=getattr(settings, f"{name}_interval"),
                readers=group_readers,
                enabled=name in settings.groups and bool(group_readers),
                read_timeout=settings.read_timeout,
            )
        )
    return groups
