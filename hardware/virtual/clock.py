"""Time for the virtual board: the wall clock, or one that tests move by hand.

The environment model and slow on-chip processes (the gas heater warming up)
follow the board's clock. Short on-chip operations (a conversion, a reset)
are timed by ``Stopwatch``, which also counts real time, because the vendor
drivers wait for them by polling with the real ``time.sleep``.
"""

from __future__ import annotations

import threading
import time


class WallClock:
    """Seconds since the epoch, as the real world has them."""

    def now(self) -> float:
        """The current time in seconds since the epoch."""
        return time.time()

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for measuring durations."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of real time."""
        time.sleep(seconds)


class ManualClock:
    """A clock that only moves when ``advance`` is called (tests).

    ``sleep`` advances it, so emulated conversion delays cost no real time.
    On-chip operations also end after their real duration, for the vendor
    drivers that wait with ``time.sleep``; ``real_time_waits=False`` stops
    that, for tests that step a chip through its states by hand.
    """

    def __init__(self, start: float = 1_700_000_000.0, *, real_time_waits: bool = True) -> None:
        self._start = start
        # Kept apart from the start: near 1.7e9 a double resolves only about
        # 0.2 us, too coarse to add up the microseconds of a conversion.
        self._advanced = 0.0
        self._lock = threading.Lock()
        self.real_time_waits = real_time_waits

    def now(self) -> float:
        """The time the clock was last moved to."""
        with self._lock:
            return self._start + self._advanced

    def monotonic(self) -> float:
        """Seconds advanced since the clock was made."""
        with self._lock:
            return self._advanced

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        with self._lock:
            self._advanced += seconds

    def sleep(self, seconds: float) -> None:
        """Advance the clock instead of waiting."""
        self.advance(seconds)


class Stopwatch:
    """Time since an on-chip operation began, by the board's clock or by real time.

    ``elapsed`` is the larger of the two: on the wall clock they agree; on a
    ManualClock a test can finish a conversion at once with ``advance``,
    while a vendor driver that polls with ``time.sleep`` sees it finish after
    the real time it takes on the chip.
    """

    def __init__(self, clock) -> None:
        self._clock = clock
        # A clock without a monotonic reading falls back to its epoch time.
        self._board_time = getattr(clock, "monotonic", clock.now)
        self._board_start = self._board_time()
        self._real_start = time.monotonic()

    def elapsed(self) -> float:
        """Seconds since the stopwatch was started."""
        board = self._board_time() - self._board_start
        if not getattr(self._clock, "real_time_waits", True):
            return board
        return max(board, time.monotonic() - self._real_start)

    def passed(self, seconds: float) -> bool:
        """True once ``seconds`` have elapsed."""
        return self.elapsed() >= seconds
