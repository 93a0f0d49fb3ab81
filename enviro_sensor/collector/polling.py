"""Background polling: one schedule per sensor group, validation, and the records it hands on.

Each group has a thread that wakes every interval and reads its sensors in
turn. Every driver call runs on the sensor's own worker thread and is waited
for at most ``read_timeout`` seconds of the collector's clock, so a hung
driver costs its own sensor and nothing else. Readings are validated, then
handed as immutable records to ``publish`` (the outputs), with every change
of a sensor's status. Nobody else reads the collector's state: request
handlers and metrics are outputs.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import types
from collections.abc import Callable
from typing import Any

from enviro_sensor.clocks import Clock, SystemClock
from enviro_sensor.metrics.sensor_health import SensorHealth, error_reason
from enviro_sensor.records import LOCAL_SOURCE, Event, Reading, StatusChange
from enviro_sensor.sensors.base import DutyState, SensorReader, WarmingUp, Withheld, validate
from enviro_sensor.sensors.calibration import ROOM_FIELDS, Calibration, calibrate, with_room_reference
from enviro_sensor.sensors.config import GroupConfig, Sensor
from enviro_sensor.sensors.derivation import Derivation, Derived

log = logging.getLogger(__name__)

# Consecutive failed reads after which the driver is set up afresh (a chip
# that lost power comes back in its reset state).
REOPEN_AFTER_FAILURES = 3
# Longest wait between attempts to construct a driver that keeps failing.
MAX_OPEN_BACKOFF = 60.0


class StillBusy(TimeoutError):
    """The sensor's previous call has not returned yet."""


class Abandoned(Exception):
    """The collector is stopping: a call in flight is no longer waited for."""


@dataclasses.dataclass
class _Call:
    """One driver call handed to a CallRunner, and what came of it."""

    function: Callable[[], Any]
    #: Set when the call returns or raises.
    answered: threading.Event = dataclasses.field(default_factory=threading.Event)
    #: Set when it is answered, or when the collector stops waiting for it.
    wake: threading.Event = dataclasses.field(default_factory=threading.Event)
    #: The clock's time when it was answered.
    answered_at: float = 0.0
    #: Set when the caller stopped waiting before the answer came: the call
    #: runs on, abandoned.
    given_up: bool = False
    result: Any = None
    error: BaseException | None = None


class CallRunner:
    """Runs calls on one daemon thread so the caller can stop waiting.

    A call that overruns is abandoned, not killed (Python cannot); until it
    returns, further calls are refused with StillBusy rather than queued.
    """

    def __init__(self, name: str, clock: Clock) -> None:
        self._clock = clock
        self._jobs: queue.Queue[_Call | None] = queue.Queue()
        self._current: _Call | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            call = self._jobs.get()
            if call is None:
                return
            try:
                call.result = call.function()
            # gpiodevice raises SystemExit when no GPIO chip exists: a failure
            # of this sensor, not a reason to end the process.
            except (Exception, SystemExit) as err:
                call.error = err
            call.answered_at = self._clock.monotonic()
            call.answered.set()
            call.wake.set()

    def call(self, function: Callable[[], Any], timeout: float) -> Any:
        if self._stopping:
            raise Abandoned("the collector is stopping")
        if self._current is not None and not self._current.answered.is_set():
            raise StillBusy("the previous call has not returned")
        call = self._current = _Call(function)
        started = self._clock.monotonic()
        self._jobs.put(call)
        # The timeout runs on the collector's clock, and an answer counts by
        # the clock's time when it came, not when this thread woke: whether
        # a driver was too slow never depends on the machine's speed.
        self._clock.wait(call.wake, timeout)
        answered = call.answered.is_set()
        call.given_up = not answered
        if self._stopping and not answered:
            raise Abandoned("the collector is stopping")
        if not answered or call.answered_at - started > timeout:
            raise TimeoutError(f"no answer within {timeout:g} s")
        if call.error is not None:
            raise call.error
        return call.result

    def wait_idle(self, timeout: float) -> bool:
        """Wait for an abandoned call to return; True once nothing is running."""
        current = self._current
        return current is None or current.answered.wait(timeout)

    def stop_waiting(self) -> None:
        """Give up on the call in flight and refuse new ones: the collector is stopping."""
        self._stopping = True
        current = self._current
        if current is not None:
            current.wake.set()

    def close(self) -> None:
        self._jobs.put(None)


@dataclasses.dataclass
class SensorState:
    """What the collector knows about one sensor; changed under the collector's lock."""

    sensor: Sensor
    reader: SensorReader
    group: GroupConfig
    reading: Reading | None = None
    up: bool = False
    opened: bool = False
    ever_opened: bool = False
    last_error: str | None = None
    last_error_reason: str | None = None
    warming_up_left: float | None = None
    failures: int = 0
    open_attempts: int = 0
    next_open_at: float = 0.0
    runner: CallRunner | None = None
    #: The part was told to rest while its group is paused.
    resting: bool = False
    #: A duty-cycled part: asleep or spinning up, and when its next reading is
    #: due (wall time); None for a part read every poll.
    duty: DutyState | None = None
    next_reading_at: float | None = None
    #: What the outputs were last told: (status, up, reason, sleeping, next reading).
    announced: tuple[str, bool, str | None, bool, float | None] | None = None
    #: Derives values from the sensor's history (retrievers.derivation), if its kind has one.
    derivation: Derivation | None = None
    #: The derivation raised (logged once; the reading goes out without its values).
    derivation_failed: bool = False


class Collector:
    """Polls every enabled group in the background and publishes what it reads."""

    def __init__(
        self,
        board: Any,
        groups: list[GroupConfig],
        readers: dict[str, SensorReader],
        publish: Callable[[Event], None],
        health: SensorHealth,
        clock: Clock | None = None,
        calibration: Calibration | None = None,
        room_reference: str | None = None,
        derivations: dict[str, Derivation] | None = None,
    ) -> None:
        self.board = board
        self._calibration = calibration or {}
        self._room_reference = room_reference
        self.groups = {group.name: group for group in groups}
        self._publish = publish
        self._health = health
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._paused: set[str] = set()
        self._states: dict[str, SensorState] = {
            sensor.name: SensorState(sensor, readers[sensor.name], group)
            for group in groups
            if group.enabled
            for sensor in group.sensors
        }
        for name, derivation in (derivations or {}).items():
            if name in self._states:
                self._states[name].derivation = derivation
        for state in self._states.values():
            health.track(state.sensor.name, state.sensor.kind.error_reasons)

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
        # A poll waiting for a slow driver (the PMS5003's next frame, a hung
        # chip) ends now instead of holding shutdown for its read timeout.
        for state in self._states.values():
            if state.runner is not None:
                state.runner.stop_waiting()
        for thread in self._threads:
            thread.join(timeout)
        for state in self._states.values():
            if state.runner is not None:
                state.runner.close()
            try:
                state.reader.close()
            except (Exception, SystemExit) as err:
                log.warning("%s: close failed: %s", state.sensor.name, err)
            if state.derivation is not None:
                # What it learned is saved (retrievers.saved_state), once.
                try:
                    state.derivation.close()
                except Exception as err:
                    log.warning("%s: saving what was learned failed: %s", state.sensor.name, err)
                state.derivation = None

    def wait_idle(self, sensor: str, timeout: float) -> bool:
        """Wait until ``sensor`` has no driver call in flight (tests, shutdown)."""
        runner = self._states[sensor].runner
        return runner is None or runner.wait_idle(timeout)

    def alive(self) -> bool:
        """True while every polling thread runs (or none was asked for)."""
        return all(thread.is_alive() for thread in self._threads) and not self._stop.is_set()

    def pause(self, group: str) -> None:
        """Stop polling ``group`` until ``resume``; its sensors report ``paused``."""
        with self._lock:
            self._paused.add(group)
        self.announce(group)

    def resume(self, group: str) -> None:
        """Poll ``group`` again from its next interval."""
        with self._lock:
            self._paused.discard(group)
        self.announce(group)

    def _run(self, group: GroupConfig) -> None:
        next_poll = self._clock.monotonic()
        while not self._stop.is_set():
            try:
                self.poll(group.name)
            except Exception:
                # A bug here must not end the polling: log it, try next time.
                log.exception("polling %s failed", group.name)
            # Fixed-rate schedule; if a poll overran, start again from now.
            next_poll = max(next_poll + group.interval, self._clock.monotonic())
            self._clock.wait(self._stop, max(0.0, next_poll - self._clock.monotonic()))

    # -- polling -----------------------------------------------------------

    def poll(self, group: str) -> None:
        """Read every sensor of ``group`` once, then tell the outputs what changed.

        The polling threads call this; tests call it to poll by hand.
        """
        with self._lock:
            paused = group in self._paused
        for sensor in self.groups[group].sensors:
            state = self._states.get(sensor.name)
            if state is None:
                continue
            if paused != state.resting:
                self._rest_or_wake(state, paused)
            if not paused:
                self._poll_sensor(state)
        # A sensor that failed or went quiet turns stale here, even when
        # no new reading came.
        self.announce(group)

    def announce(self, group: str) -> None:
        """Publish a status change for each sensor of ``group`` whose status changed."""
        for sensor in self.groups[group].sensors:
            state = self._states.get(sensor.name)
            if state is not None:
                self._announce(state)

    def _rest_or_wake(self, state: SensorState, rest: bool) -> None:
        """Tell an opened part its group was paused or resumed (the PMS5003's fan)."""
        if not state.opened:
            state.resting = rest
            return
        try:
            self._call(state, state.reader.rest if rest else state.reader.wake)
        except Abandoned:
            return
        except (Exception, SystemExit) as err:
            log.warning("%s: cannot %s: %s", state.sensor.name, "rest" if rest else "wake", _describe(err))
        state.resting = rest

    def _call(self, state: SensorState, function: Callable[[], Any]) -> Any:
        if self._stop.is_set():
            raise Abandoned("the collector is stopping")
        if state.runner is None:
            state.runner = CallRunner(f"sensor-{state.sensor.name}", self._clock)
        return state.runner.call(function, state.group.read_timeout)

    def _poll_sensor(self, state: SensorState) -> None:
        name = state.sensor.name
        now = self._clock.monotonic()
        if not state.opened and now >= state.next_open_at:
            try:
                self._call(state, lambda: state.reader.open(self.board))
            except Abandoned:
                return
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
        started = self._clock.monotonic()
        try:
            values = self._call(state, state.reader.read)
        except WarmingUp as warming:
            self._warming_up(state, warming, self._clock.monotonic() - started)
            return
        except Withheld as withheld:
            self._withheld(state, withheld.state)
            return
        except Abandoned:
            return
        except (Exception, SystemExit) as err:
            reason = state.reader.error_reason(err) or error_reason(err)
            self._reading_failed(state, reason, _describe(err), self._clock.monotonic() - started)
            return
        duration = self._clock.monotonic() - started
        values, calibrated = self._derive(state, values)
        rejections = validate(state.sensor.fields, values)
        notes: dict[str, str] = {}
        if not rejections and state.derivation is not None:
            # Only a valid read is learned from; what it yields is checked too.
            derived = self._derived(state, values)
            values = {**values, **derived.values}
            notes = dict(derived.notes)
            rejections = validate(state.sensor.fields, values)
        if rejections:
            for rejection in rejections:
                self._health.rejected(name, rejection.field, rejection.reason)
            detail = ", ".join(f"{r.field}={r.value!r} ({r.reason})" for r in rejections)
            self._reading_failed(state, "invalid_reading", f"rejected {detail}", duration)
            return
        reading = Reading(
            source=LOCAL_SOURCE,
            sensor=name,
            group=state.group.name,
            values=types.MappingProxyType(
                {
                    field.key: round(values[field.key], field.decimals)
                    for field in state.sensor.fields
                    if values.get(field.key) is not None
                }
            ),
            time=self._clock.now(),
            monotonic=self._clock.monotonic(),
            duration=duration,
            calibrated=calibrated,
            notes=types.MappingProxyType(notes),
        )
        with self._lock:
            recovered = state.last_error is not None and not state.up
            state.reading = reading
            state.up, state.failures, state.warming_up_left = True, 0, None
            state.opened, state.open_attempts = True, 0
            state.last_error = state.last_error_reason = None
            self._note_duty(state, state.reader.duty_state())
        self._health.attempt(name, True, duration)
        self._health.success(name, reading.time)
        # The status first: an output that shows readings by status sees
        # "ok" no later than the reading that made it so.
        self._announce(state)
        self._publish(reading)
        if recovered:
            log.info("%s: reading again", name)

    def _derive(
        self, state: SensorState, values: dict[str, float]
    ) -> tuple[dict[str, float], tuple[str, ...]]:
        """The room reference's values, then the calibration, on a fresh read (retrievers.calibration)."""
        # The sensor with room values (the BME280's CPU-heat compensated ones).
        if self._room_reference is not None and any(f.key in ROOM_FIELDS for f in state.sensor.fields):
            values = with_room_reference(values, self._fresh_values(self._room_reference))
        return calibrate(values, self._calibration.get(state.sensor.name))

    def _derived(self, state: SensorState, values: dict[str, float]) -> Derived:
        """What the sensor's derivation adds; a failing derivation costs its values, not the reading."""
        assert state.derivation is not None
        try:
            return state.derivation.derive(values, self._clock.now())
        except Exception:
            if not state.derivation_failed:
                log.exception(
                    "%s: deriving values failed (the reading goes out without them)", state.sensor.name
                )
            state.derivation_failed = True
            return Derived({})

    def _fresh_values(self, name: str) -> Any:
        """Sensor ``name``'s latest reading's values while they are current, else None."""
        state = self._states.get(name)
        if state is None:
            return None
        with self._lock:
            reading = state.reading
        if reading is None or self._clock.monotonic() - reading.monotonic > state.group.freshness:
            return None
        return reading.values

    def _opening_failed(self, state: SensorState, err: BaseException) -> None:
        with self._lock:
            state.open_attempts += 1
            backoff = min(
                state.group.interval * 2 ** (state.open_attempts - 1),
                max(MAX_OPEN_BACKOFF, state.group.interval),
            )
            state.next_open_at = self._clock.monotonic() + backoff
            first = state.open_attempts == 1
            self._record_failure(state, "setup_failed", _describe(err))
        self._health.read_error(state.sensor.name, "setup_failed")
        self._health.attempt(state.sensor.name, False, None)
        if first:
            log.warning(
                "%s: cannot set up: %s (retrying, at most every %g s)",
                state.sensor.name,
                _describe(err),
                MAX_OPEN_BACKOFF,
            )

    def _reading_failed(self, state: SensorState, reason: str, message: str, duration: float) -> None:
        with self._lock:
            was_up = state.up
            state.failures += 1
            self._record_failure(state, reason, message)
            if state.failures % REOPEN_AFTER_FAILURES == 0 and reason != "timeout":
                state.opened = False
                state.next_open_at = self._clock.monotonic()
        self._health.read_error(state.sensor.name, reason)
        self._health.attempt(state.sensor.name, False, duration)
        if was_up or state.failures == 1:
            log.warning("%s: read failed (%s): %s", state.sensor.name, reason, message)

    def _warming_up(self, state: SensorState, warming: WarmingUp, duration: float) -> None:
        with self._lock:
            # The sensor answers: it is up, but nothing it says is data yet.
            state.up, state.failures = True, 0
            state.opened, state.open_attempts = True, 0
            state.warming_up_left = warming.seconds_left
            state.last_error = state.last_error_reason = None
        self._health.attempt(state.sensor.name, True, duration)

    def _withheld(self, state: SensorState, duty: DutyState) -> None:
        """A duty-cycled part between readings: not failing, and not stale while its reading lasts."""
        with self._lock:
            state.up, state.failures = True, 0
            state.opened, state.open_attempts = True, 0
            state.last_error = state.last_error_reason = None
            self._note_duty(state, duty)
            # Before its first reading it is warming up, as far as anyone asking can tell.
            state.warming_up_left = duty.next_reading_in if state.reading is None else None
        # Its driver is set up and nothing failed: up, as a warming-up part is.
        self._health.attempt(state.sensor.name, True, None)

    def _note_duty(self, state: SensorState, duty: DutyState | None) -> None:
        state.duty = duty
        if duty is None:
            state.next_reading_at = None
        else:
            # Whole seconds: the wall and monotonic clocks drift apart by
            # microseconds between polls, which must not read as a change.
            state.next_reading_at = float(round(self._clock.now() + duty.next_reading_in))

    @staticmethod
    def _record_failure(state: SensorState, reason: str, message: str) -> None:
        state.up = False
        state.last_error, state.last_error_reason = message, reason
        state.warming_up_left = None

    # -- status ----------------------------------------------------------------

    def _status(self, state: SensorState, now: float) -> tuple[str, str | None]:
        reading = state.reading
        if state.group.name in self._paused:
            return "paused", "paused by request"
        if state.warming_up_left is not None:
            return "warming-up", "warming up"
        if reading is not None and now - reading.monotonic <= state.group.freshness:
            return "ok", state.last_error
        if reading is not None:
            return "stale", state.last_error or "no new reading"
        if state.last_error is not None:
            return "failing", state.last_error
        return "starting", "no reading yet"

    def _announce(self, state: SensorState) -> None:
        now = self._clock.monotonic()
        with self._lock:
            status, reason = self._status(state, now)
            sleeping = state.duty is not None and state.duty.asleep and status != "paused"
            next_reading_at = state.next_reading_at if status not in ("paused", "failing") else None
            key = (status, state.up, reason, sleeping, next_reading_at)
            if key == state.announced:
                return
            state.announced = key
            change = StatusChange(
                source=LOCAL_SOURCE,
                sensor=state.sensor.name,
                group=state.group.name,
                status=status,
                up=state.up,
                reason=reason,
                error_reason=state.last_error_reason,
                time=self._clock.now(),
                monotonic=now,
                warming_up_left=state.warming_up_left,
                sleeping=sleeping,
                next_reading_at=next_reading_at,
            )
            # Published under the lock, so two threads' changes of one
            # sensor reach the outputs in the order they were decided.
            self._publish(change)


def _describe(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return f"{type(err).__name__}: {text}" if text != type(err).__name__ else text
