"""What the collector hands to the outputs: immutable readings and status changes.

Outputs see these records and the sensors' declarations, never the
collector's state. A record is frozen and its values are a read-only
mapping, so one record can go to every output without copying.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from collections.abc import Mapping

# A sensor's statuses (see docs/architecture.md, "Statuses").
STATUSES = ("starting", "ok", "stale", "warming-up", "failing", "paused")
# Where a local reading comes from; remote nodes use their own source names.
LOCAL_SOURCE = "local"


@dataclasses.dataclass(frozen=True)
class Reading:
    """One accepted set of values from one sensor."""

    source: str
    sensor: str
    group: str
    values: Mapping[str, float]
    #: Wall time of the reading, seconds since the epoch.
    time: float
    #: The same instant on the collector's monotonic clock (for ages).
    monotonic: float
    #: How long the read took, seconds.
    duration: float
    #: Keys of the values that ENVIRO_CALIBRATION adjusted.
    calibrated: tuple[str, ...] = ()
    #: Words about derived values, by field key (retrievers.derivation): why
    #: one is absent, or what a coded one means.
    notes: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: Seconds the reading stays current, for a remote node's reading (from
    #: the node's own interval); None for a local one (its group's freshness).
    fresh_for: float | None = None
    #: The node journal's entry holding this reading (a remote node's, when
    #: ENVIRO_DATA_DIR is set): outputs that keep readings confirm it.
    journal: int | None = None


@dataclasses.dataclass(frozen=True)
class StatusChange:
    """A sensor's status, sent whenever it (or its reason) changes."""

    source: str
    sensor: str
    group: str
    status: str
    #: Whether the sensor's last read succeeded (``enviro_sensor_up``).
    up: bool
    #: Why the sensor is not ok, or its last error; None when all is well.
    reason: str | None
    #: The error's metric reason (``io_error``, ``timeout``...), when failing.
    error_reason: str | None
    time: float
    monotonic: float
    #: Seconds until the sensor's values mean something, while warming up.
    warming_up_left: float | None = None
    #: A duty-cycled sensor asleep between readings (ENVIRO_PARTICULATES_DUTY).
    sleeping: bool = False
    #: When a duty-cycled sensor's next reading is due (Unix time); None otherwise.
    next_reading_at: float | None = None


Event = Reading | StatusChange


# A reading's time is formatted for every request that shows it, and it only
# changes once per poll.
@functools.lru_cache(maxsize=256)
def iso_utc(timestamp: float) -> str:
    """A Unix time as ISO 8601 in UTC with milliseconds: ``2026-01-15T08:30:00.123Z``."""
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
