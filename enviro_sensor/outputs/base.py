"""The interface every output implements."""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry

from enviro_sensor.clocks import Clock
from enviro_sensor.nodes.devices import Device
from enviro_sensor.records import Reading, StatusChange
from enviro_sensor.sensors.config import GroupConfig, Sensor


@dataclasses.dataclass(frozen=True)
class OutputContext:
    """What every output module is given to build its output from (its own options come beside it)."""

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


@dataclasses.dataclass(frozen=True)
class Account:
    """What an output that batches or buffers says of its own deliveries.

    The hub believes it rather than counting calls: a reading an output has
    only put in a batch or a buffer is not yet sent.
    """

    #: Records the destination acknowledged.
    sent: int
    #: Records held for the destination (in memory or on disk), not yet acknowledged.
    buffered: int
    #: Records given up on, by reason (``buffer_full``, ``refused``...).
    dropped: Mapping[str, int]
    #: Why the destination is not taking records now, in its own words; None while it is.
    refusal: str | None = None
    #: When the last attempt failed (Unix time), and how many attempts have failed in all.
    refusal_at: float | None = None
    failures: int = 0


class JournalConsumer(Protocol):
    """An output's side of the node journal (``nodes.journal``)."""

    def kept(self, entry: int) -> None:
        """Entries up to ``entry`` are kept for good by this output."""

    def lost(self, entry: int) -> None:
        """Entry ``entry`` did not reach this output: hold it for the next start's replay."""


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
    #: Set (by the service) on an output that keeps readings for good (a
    #: database) when remote nodes' packets are journaled: the output tells
    #: it which journal entries it has kept, so that a node's ``stored`` holds.
    journal: JournalConsumer | None = None
    #: Whether the output keeps readings for good (and so takes part in the journal).
    keeps_readings: bool = False

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

    def account(self) -> Account | None:
        """The output's own account of what it sent and holds; None when every call it
        returns from is a record delivered (the hub counts those itself)."""
        return None

    def close(self) -> None:  # noqa: B027 - most hold nothing
        """Release connections and files; called once, after the last record."""
