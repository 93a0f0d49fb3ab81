"""Time for the virtual board: the wall clock, or one that tests move by hand.

Every part of the virtual board takes its time from the board's clock
(``Clock``: ``now``, ``monotonic``, ``sleep``, ``wait``) and none reads the
real time itself, with one exception kept here: ``Stopwatch``.

- The environment model and slow on-chip processes (the gas heater warming
  up) follow the board's clock.
- On-chip operations (a conversion, a reset, the PMS5003's frame cadence)
  are timed by ``Stopwatch``, which also counts real time: a vendor driver
  waits for them by polling with ``time.sleep``, or by blocking on a serial
  read. On the wall clock the two agree; on a ManualClock an operation ends
  at once when the clock is advanced past it (by the test, or by a driver
  whose ``time.sleep`` a test put on the clock), or after its duration in
  real time, whichever comes first. A ManualClock made with
  ``real_time_waits=False`` ends them only when advanced, for tests that
  step a chip through its states by hand (a driver waiting on such a board
  waits until its own timeout).
- Time the board spends by itself (the I2C bus's wire time, when asked for)
  goes through ``Clock.sleep``: real time on the wall clock, an advance of a
  ManualClock.
"""

from __future__ import annotations

import threading
import time

from enviro_sensor.clocks import Clock, SystemClock

__all__ = ["Clock", "ManualClock", "Stopwatch", "WallClock"]


# The service's own clock protocol and the real clocks: the board keeps time
# the way the rest of the service does.
WallClock = SystemClock

# How often a ManualClock's ``wait`` looks at its event between advances.
EVENT_CHECK_SECONDS = 0.002


class ManualClock:
    """A clock that only moves when ``advance`` is called (tests).

    ``sleep`` advances it, so emulated conversion delays cost no real time.
    ``wait`` ends when its event is set or when the clock is advanced past
    its deadline, never because real time went by: a test that wants a
    timeout to fire advances the clock (``deadline_of`` says to when).
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
        self._moved = threading.Condition(self._lock)
        # Each pending wait: its deadline and its event.
        self._waits: list[tuple[float, threading.Event]] = []
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
            self._moved.notify_all()

    def advance_to(self, monotonic: float) -> None:
        """Move the clock to ``monotonic`` seconds since it was made (a pending deadline), if not there yet.

        Exactly there: ``advance(deadline - monotonic())`` can fall short
        by a rounding error, and a wait for that deadline would go on.
        """
        with self._lock:
            self._advanced = max(self._advanced, monotonic)
            self._moved.notify_all()

    def sleep(self, seconds: float) -> None:
        """Advance the clock instead of waiting."""
        self.advance(seconds)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Wait until ``event`` is set or the clock has been advanced by ``seconds``."""
        with self._lock:
            deadline = self._advanced + seconds
            pending = (deadline, event)
            self._waits.append(pending)
            try:
                while not event.is_set() and self._advanced < deadline:
                    # Woken at once by an advance; the short timeout only
                    # notices the event, which cannot wake a condition.
                    self._moved.wait(EVENT_CHECK_SECONDS)
            finally:
                self._waits.remove(pending)
        return event.is_set()

    def deadline_of(self, event: threading.Event) -> float | None:
        """When a pending ``wait`` for ``event`` gives up (monotonic), or None if none is pending."""
        with self._lock:
            return next((deadline for deadline, waited in self._waits if waited is event), None)


class Stopwatch:
    """Time since an on-chip operation began, by the board's clock or by real time.

    ``elapsed`` is the larger of the two: on the wall clock they agree; on a
    ManualClock a test can finish a conversion at once with ``advance``,
    while a vendor driver that polls with ``time.sleep`` sees it finish after
    the real time it takes on the chip.
    """

    def __init__(self, clock: Clock) -> None:
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
