"""Time as the service sees it: wall time, a monotonic clock, sleep, and a wait with a deadline.

Everything that waits or stamps (the collector, the readers, the outputs)
is given a clock instead of calling ``time`` itself, so tests drive time by
hand (the virtual board's ManualClock has the same methods) and the
suite computes instead of waiting.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """What the service needs of a clock."""

    def now(self) -> float:
        """Seconds since the epoch (for time stamps)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for ages and schedules)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass."""
        ...

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Wait until ``event`` is set or ``seconds`` pass on this clock; True if it was set."""
        ...


class SystemClock:
    """The real clocks of this machine."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(seconds)
