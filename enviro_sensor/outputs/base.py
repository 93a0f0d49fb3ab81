"""The interface every output implements."""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping

from prometheus_client import CollectorRegistry

from enviro_sensor.clocks import Clock
from enviro_sensor.nodes.devices import Device
from enviro_sensor.records import Reading, StatusChange
from enviro_sensor.sensors.config import GroupConfig, Sensor
from enviro_sensor.settings import Settings


@dataclasses.dataclass(frozen=True)
class OutputContext:
    """What an output module is given to build its output from."""

    settings: Settings
    registry: CollectorRegistry
    #: The polled sensors' declarations, by name.
    sensors: Mapping[str, Sensor]
    groups: tuple[GroupConfig, ...]
    clock: Clock
    #: The remote nodes this service accepts (the nodes file and the virtual ones).
    devices: tuple[Device, ...] = ()

    @property
    def freshness(self) -> dict[str, float]:
        """Seconds a reading stays current, by group."""
        return {group.name: group.freshness for group in self.groups}

    @property
    def intervals(self) -> dict[str, float]:
        """Seconds between readings of each polled group (a duty cycle's period, else its polls')."""
        return {group.name: group.sampling_interval for group in self.groups if group.enabled}


class Unavailable(ConnectionError):
    """The output cannot deliver now (its server is away) and has logged why itself.

    The hub counts the record as dropped and keeps the message as the last
    error, without a log line of its own: one outage, one line.
    """


class Output(abc.ABC):
    """Receives every accepted reading and every status change, in order, on its own thread.

    ``handle_*`` may block (a network write) or raise (a broker went away):
    the hub counts an exception as a dropped record and carries on, and a
    slow output only fills its own queue. ``connected`` says whether the
    output can deliver now, for ``/api/outputs`` and ``enviro_output_up``.
    """

    #: The ``output`` label and the key in /api/outputs.
    name: str
    #: Records the output may fall behind by before new ones are dropped:
    #: minutes of readings at the default intervals, a few hundred kB at most.
    queue_size: int = 1000

    def start(self, sensors: Mapping[str, Sensor]) -> None:  # noqa: B027 - most need no set-up
        """Called once before the first record, with the sensors' declarations by name."""

    @abc.abstractmethod
    def handle_reading(self, reading: Reading) -> None:
        """One accepted reading."""

    @abc.abstractmethod
    def handle_status(self, change: StatusChange) -> None:
        """A sensor's status changed."""

    @property
    def connected(self) -> bool:
        """True while the output can deliver (always, for one inside the process)."""
        return True

    def close(self) -> None:  # noqa: B027 - most hold nothing
        """Release connections and files; called once, after the last record."""
