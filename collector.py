"""Background polling: one schedule per sensor group, the latest valid reading per sensor.

Each group has a thread that wakes every interval and reads its sensors in
turn. Every driver call runs on the sensor's own worker thread and is waited
for at most ``read_timeout`` seconds, so a hung driver costs its own sensor
and nothing else. Readings are validated before they are cached; request
handlers and the metrics read the cache and never touch hardware.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from retrievers import Group
from retrievers.base import SensorReader, WarmingUp, validate
from sensor_metrics import SensorMetrics, error_reason

log = logging.getLogger(__name__)

# Consecutive failed reads after which the driver is set up afresh (a chip
# that lost power comes back in its reset state).
REOPEN_AFTER_FAILURES = 3
# Longest wait between attempts to construct a driver that keeps failing.
MAX_OPEN_BACKOFF = 60.0


class StillBusy(TimeoutError):
    """The sensor's previous call has not returned yet."""


class CallRunner:
    """Runs calls on one daemon thread so the caller can stop waiting.

    A call that overruns is abandoned, not killed (Python cannot); until it
    returns, further calls are refused with StillBusy rather than queued.
    """

    def __init__(self, name: str) -> None:
        self._jobs: queue.Queue = queue.Queue()
        self._current: Future | None = None
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            call, future = job
            try:
                future.set_result(call())
            # gpiodevice raises SystemExit when no GPIO chip exists: a failure
            # of this sensor, not a reason to end the process.
            except (Exception, SystemExit) as err:
                future.set_exception(err)

    def call(self, function: Callable[[], Any], timeout: float) -> Any:
        if self._current is not None and not self._current.done():
            raise StillBusy("the previous call has not returned")
        future: Future = Future()
        self._current = future
        self._jobs.put((function, future))
        try:
            return future.result(timeout)
        except TimeoutError:
            if future.done():  # it failed with a TimeoutError of its own
                raise
            raise TimeoutError(f"no answer within {timeout:g} s") from None

    def wait_idle(self, timeout: float) -> bool:
        """Wait for an abandoned call to return; True once nothing is running."""
        current = self._current
        if current is None:
            return True
        try:
            current.exception(timeout)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self._jobs.put(None)


@dataclasses.dataclass
class Reading:
    """A validated set of values and when it was taken."""

    values: dict[str, float]
    wall_time: float
    monotonic_time: float


@dataclasses.dataclass
class SensorState:
    """What the collector knows about one sensor; changed under the collector's lock."""

    reader: SensorReader
    group: Group
    reading: Reading | None = None
    up: bool = False
    opened: bool = False
    ever_opened: bool = False
    last_error: str | None = None
    last_error_reason: str | None = None
    warming_up_left: float | None = None
    last_duration: float | None = None
    failures: int = 0
    open_attempts: int = 0
    next_open_at: float = 0.0
    runner: CallRunner | None = None


class Collector:
    """Polls every enabled group in the background and caches the results."""

    def __init__(
        self,
        board,
        groups: list[Group],
        metrics: SensorMetrics,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.board = board
        self.groups = {group.name: group for group in groups}
        self.metrics = metrics
        self._wall = wall_clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.states: dict[str, SensorState] = {
            reader.name: SensorState(reader, group)
            for group in groups
            if group.enabled
            for reader in group.readers
        }
        metrics.attach(self)

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        """Start one polling thread per enabled group."""
        for group in self.groups.values():
            if group.enabled:
                thread = threading.Thread(
                    target=self._run, args=(group,), name=f"poll-{group.name}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling, then let every driver go (heater off, port closed)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        for state in self.states.values():
            if state.runner is not None:
                state.runner.close()
            try:
                state.reader.close()
            except (Exception, SystemExit) as err:
                log.warning("%s: close failed: %s", state.reader.name, err)

    def wait_idle(self, sensor: str, timeout: float) -> bool:
        """Wait until ``sensor`` has no driver call in flight (tests, shutdown)."""
        runner = self.states[sensor].runner
        return runner is None or runner.wait_idle(timeout)

    def alive(self) -> bool:
        """True while every polling thread runs (or none was asked for)."""
        return all(thread.is_alive() for thread in self._threads) and not self._stop.is_set()

    def _run(self, group: Group) -> None:
        next_poll = self._monotonic()
        while not self._stop.is_set():
            try:
                self.poll(group)
            except Exception:
                # A bug here must not end the polling: log it, try next time.
                log.exception("polling %s failed", group.name)
            # Fixed-rate schedule; if a poll overran, start again from now.
            next_poll = max(next_poll + group.interval, self._monotonic())
            self._stop.wait(next_poll - self._monotonic())

    # -- polling -----------------------------------------------------------

    def poll(self, group: Group) -> None:
        """Read every sensor of ``group`` once (the threads call this; tests may)."""
        for reader in group.readers:
            state = self.states.get(reader.name)
            if state is not None:
                self._poll_sensor(state)

    def _call(self, state: SensorState, function: Callable[[], Any]) -> Any:
        if state.runner is None:
            state.runner = CallRunner(f"sensor-{state.reader.name}")
        return state.runner.call(function, state.group.read_timeout)

    def _poll_sensor(self, state: SensorState) -> None:
        name = state.reader.name
        now = self._monotonic()
        if not state.opened and now >= state.next_open_at:
            try:
                self._call(state, lambda: state.reader.open(self.board))
            except (Exception, SystemExit) as err:
                self._opening_failed(state, err)
                return
            with self._lock:
                state.opened, state.ever_opened, state.open_attempts = True, True, 0
        if not state.ever_opened:
            return  # no driver yet: wait out the back-off
        # While a set-up is backing off, the driver from the last good set-up
        # is still asked: a chip that kept its configuration answers again
        # on the first poll after its fault clears.
        started = self._monotonic()
        try:
            values = self._call(state, state.reader.read)
        except WarmingUp as warming:
            self._warming_up(state, warming, self._monotonic() - started)
            return
        except (Exception, SystemExit) as err:
            reason = state.reader.error_reason(err) or error_reason(err)
            self._reading_failed(state, reason, _describe(err), self._monotonic() - started)
            return
        duration = self._monotonic() - started
        rejections = validate(state.reader.fields, values)
        if rejections:
            for rejection in rejections:
                self.metrics.rejected(name, rejection.field, rejection.reason)
            detail = ", ".join(f"{r.field}={r.value!r} ({r.reason})" for r in rejections)
            self._reading_failed(state, "invalid_reading", f"rejected {detail}", duration)
            return
        with self._lock:
            recovered = state.last_error is not None and not state.up
            state.reading = Reading(
                {
                    field.key: round(values[field.key], field.decimals)
                    for field in state.reader.fields
                    if values.get(field.key) is not None
                },
                self._wall(),
                self._monotonic(),
            )
            state.up, state.failures, state.warming_up_left = True, 0, None
            state.opened, state.open_attempts = True, 0
            state.last_error = state.last_error_reason = None
            state.last_duration = duration
        if recovered:
            log.info("%s: reading again", name)

    def _opening_failed(self, state: SensorState, err: BaseException) -> None:
        with self._lock:
            state.open_attempts += 1
            backoff = min(
                state.group.interval * 2 ** (state.open_attempts - 1),
                max(MAX_OPEN_BACKOFF, state.group.interval),
            )
            state.next_open_at = self._monotonic() + backoff
            first = state.open_attempts == 1
            self._record_failure(state, "setup_failed", _describe(err))
        self.metrics.read_error(state.reader.name, "setup_failed")
        if first:
            log.warning(
                "%s: cannot set up: %s (retrying, at most every %g s)",
                state.reader.name,
                _describe(err),
                MAX_OPEN_BACKOFF,
            )

    def _reading_failed(self, state: SensorState, reason: str, message: str, duration: float) -> None:
        with self._lock:
            was_up = state.up
            state.failures += 1
            state.last_duration = duration
            self._record_failure(state, reason, message)
            if state.failures % REOPEN_AFTER_FAILURES == 0 and reason != "timeout":
                state.opened = False
                state.next_open_at = self._monotonic()
        self.metrics.read_error(state.reader.name, reason)
        if was_up or state.failures == 1:
            log.warning("%s: read failed (%s): %s", state.reader.name, reason, message)

    def _warming_up(self, state: SensorState, warming: WarmingUp, duration: float) -> None:
        with self._lock:
            # The sensor answers: it is up, but nothing it says is data yet.
            state.up, state.failures = True, 0
            state.opened, state.open_attempts = True, 0
            state.warming_up_left = warming.seconds_left
            state.last_error = state.last_error_reason = None
            state.last_duration = duration

    @staticmethod
    def _record_failure(state: SensorState, reason: str, message: str) -> None:
        state.up = False
        state.last_error, state.last_error_reason = message, reason
        state.warming_up_left = None

    # -- what the routes and metrics see -------------------------------------

    def snapshot(self, group: str | None = None) -> dict[str, SensorSnapshot]:
        """A consistent copy of every sensor's state (or one group's), by sensor name."""
        now = self._monotonic()
        with self._lock:
            return {
                name: SensorSnapshot.of(state, now)
                for name, state in self.states.items()
                if group is None or state.group.name == group
            }


@dataclasses.dataclass(frozen=True)
class SensorSnapshot:
    """One sensor as a request sees it."""

    name: str
    group: str
    description: str
    status: str  # ok, stale, warming-up, failing, starting
    up: bool
    values: dict[str, float] | None
    wall_time: float | None
    age_seconds: float | None
    stale: bool
    reason: str | None
    error_reason: str | None
    last_duration: float | None

    @classmethod
    def of(cls, state: SensorState, now: float) -> SensorSnapshot:
        reading = state.reading
        age = now - reading.monotonic_time if reading else None
        stale = reading is not None and age > state.group.freshness
        if state.warming_up_left is not None:
            status, reason = "warming-up", f"warming up, {state.warming_up_left:.0f} s left"
        elif reading is not None and not stale:
            status, reason = "ok", state.last_error
        elif reading is not None:
            status, reason = "stale", state.last_error or "no new reading"
        elif state.last_error is not None:
            status, reason = "failing", state.last_error
        else:
            status, reason = "starting", "no reading yet"
        return cls(
            name=state.reader.name,
            group=state.group.name,
            description=state.reader.description,
            status=status,
            up=state.up,
            # Shared, not copied: a Reading's values are never changed once made.
            values=reading.values if reading else None,
            wall_time=reading.wall_time if reading else None,
            age_seconds=age,
            stale=stale,
            reason=reason,
            error_reason=state.last_error_reason,
            last_duration=state.last_duration,
        )


def _describe(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return f"{type(err).__name__}: {text}" if text != type(err).__name__ else text
