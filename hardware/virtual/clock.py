"""Time for the virtual board: the wall clock, or one that tests move by hand."""

from __future__ import annotations

import threading
import time


class WallClock:
    """Seconds since the epoch, as the real world has them."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class ManualClock:
    """A clock that only moves when ``advance`` is called (tests).

    ``sleep`` advances it, so emulated conversion delays cost no real time.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)
