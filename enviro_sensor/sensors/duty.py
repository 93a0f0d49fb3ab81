"""Duty cycles: a part that is woken, left to settle, read once and put to sleep.

``ENVIRO_PARTICULATES_DUTY`` is ``on/period`` in seconds, e.g. ``30/300``:
the PMS5003 is woken, its fan runs ``on`` seconds (the data manual wants 30
before the data are stable), one reading is taken, and it sleeps until
``period`` seconds have passed since it woke; then the cycle begins again.
``DutySchedule`` says where a part is in its cycle at a given moment on the
collector's monotonic clock; the reader acts on it (wakes, reads, sleeps).
"""

from __future__ import annotations

import dataclasses
import enum

# Longest cycle accepted: a reading a day.
MAX_PERIOD_SECONDS = 86_400.0


@dataclasses.dataclass(frozen=True)
class DutyCycle:
    """On for ``on_seconds``, read, asleep until ``period`` seconds have passed since waking."""

    on_seconds: float
    period: float

    def __str__(self) -> str:
        return f"{self.on_seconds:g}/{self.period:g}"

    @property
    def on_share(self) -> float:
        """The share of the time the part runs."""
        return self.on_seconds / self.period


def parse_duty(text: str) -> DutyCycle | None:
    """``on/period`` seconds (``30/300``); empty for none (always on). ValueError if bad."""
    value = text.strip()
    if not value:
        return None
    on_text, slash, period_text = value.partition("/")
    try:
        if not slash:
            raise ValueError
        on, period = float(on_text), float(period_text)
    except ValueError:
        raise ValueError(f"expected on/period in seconds such as 30/300, got {text!r}") from None
    if not 0 < on < period <= MAX_PERIOD_SECONDS:  # also rejects nan and inf
        raise ValueError(
            f"expected 0 < on < period <= {MAX_PERIOD_SECONDS:g} seconds (such as 30/300), got {value}"
        )
    return DutyCycle(on, period)


class Phase(enum.Enum):
    """What a duty-cycled part should do when polled."""

    WAKE = "wake"  # the period is over: wake it, a new cycle begins
    SPINNING_UP = "spinning-up"  # awake, not settled yet: no reading
    READ = "read"  # settled and not yet read this cycle
    ASLEEP = "asleep"  # read this cycle: asleep until the period is over


class DutySchedule:
    """One part's cycle, on a monotonic clock; it begins awake at ``woke_at``."""

    def __init__(self, duty: DutyCycle, woke_at: float) -> None:
        self.duty = duty
        self.woke_at = woke_at
        self.read_done = False

    def phase(self, now: float) -> Phase:
        if self.read_done:
            return Phase.WAKE if now >= self.woke_at + self.duty.period else Phase.ASLEEP
        return Phase.READ if now >= self.reading_at() else Phase.SPINNING_UP

    def woke(self, now: float) -> None:
        """The part was woken at ``now``: its cycle starts over."""
        self.woke_at = now
        self.read_done = False

    def read(self) -> None:
        """This cycle's reading is taken: the part sleeps until the period is over."""
        self.read_done = True

    def reading_at(self) -> float:
        """When this cycle's reading is due (or was)."""
        return self.woke_at + self.duty.on_seconds

    def next_reading_at(self) -> float:
        """When the next reading not yet taken is due."""
        if self.read_done:
            return self.woke_at + self.duty.period + self.duty.on_seconds
        return self.reading_at()
