"""Runs each output on its own thread behind a bounded queue, and reports how each is doing.

The collector calls ``publish`` from its polling threads; that only puts the
record on each output's queue (never waits), so a slow or stuck output
delays neither polling nor HTTP nor another output. A full queue drops the
new record and counts it; an output that raises loses that record, is
counted, and is given the next one.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector as PrometheusCollector

from enviro_sensor.clocks import Clock
from enviro_sensor.outputs.base import Output, Unavailable
from enviro_sensor.records import Event, Reading
from enviro_sensor.sensors.config import Sensor

log = logging.getLogger(__name__)

# An output busy with one record for longer than this is reported down.
STUCK_SECONDS = 30.0
# Why a record did not reach an output (the ``reason`` label); all start at 0.
DROP_REASONS = ("queue_full", "error", "shutdown")


@dataclasses.dataclass(frozen=True)
class OutputState:
    """One output's health, as /api/outputs shows it."""

    name: str
    up: bool
    connected: bool
    queued: int
    #: Records the destination acknowledged (or, for an output inside the process, took).
    sent: int
    #: Records held for the destination, in memory or on disk, not yet acknowledged.
    buffered: int
    dropped: Mapping[str, int]
    last_sent: float | None
    #: The last error, kept after the output recovers (``up`` says whether it did).
    last_error: str | None
    #: When it last failed (Unix time).
    last_error_at: float | None = None
    #: Failed attempts since start (one log line per outage, these count the rest).
    errors: int = 0


def _duration(seconds: float) -> str:
    """A length of time as a person says it: ``42 s``, ``3 min 5 s``, ``2 h 10 min``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


class OutputRunner:
    """One output, its queue and its thread."""

    def __init__(self, output: Output, clock: Clock, extra_queue: int = 0) -> None:
        self.output = output
        self._clock = clock
        self._queue: queue.Queue[Event | None] = queue.Queue(maxsize=output.queue_size + extra_queue)
        self._lock = threading.Lock()
        # Set when a full queue leaves no room to queue the stop behind it.
        self._abandon = threading.Event()
        self._thread: threading.Thread | None = None
        self._sent = 0
        self._dropped: collections.Counter[str] = collections.Counter(dict.fromkeys(DROP_REASONS, 0))
        self._last_sent: float | None = None
        self._last_error: str | None = None
        self._last_error_at: float | None = None
        self._errors = 0
        self._failing = False
        self._busy_since: float | None = None
        # The outage in progress: since when, and the figures when it began.
        self._down_since = 0.0
        self._sent_at_down = 0
        self._dropped_at_down = 0
        self._held = 0

    def start(self, sensors: Mapping[str, Sensor]) -> None:
        self._thread = threading.Thread(
            target=self._work, args=(sensors,), name=f"output-{self.output.name}", daemon=True
        )
        self._thread.start()

    def submit(self, event: Event, wait: bool = False) -> None:
        """Queue ``event`` for the output; never blocks unless ``wait`` (a replay at start-up)."""
        try:
            if wait:
                self._queue.put(event)
            else:
                self._queue.put_nowait(event)
        except queue.Full:
            with self._lock:
                self._dropped["queue_full"] += 1
            self._lost(event)

    def _lost(self, event: Event) -> None:
        """Tell the node journal that a reading it holds did not reach an output that keeps readings."""
        journal = self.output.journal
        if journal is not None and isinstance(event, Reading) and event.journal is not None:
            journal.lost(event.journal)

    def _work(self, sensors: Mapping[str, Sensor]) -> None:
        try:
            self.output.start(sensors)
        except Exception as err:
            self._failed(f"{type(err).__name__}: {err}", logged=isinstance(err, Unavailable))
        while True:
            event = self._queue.get()
            try:
                if event is None:  # stop: everything queued before it is handled
                    return
                self._deliver(event)
            finally:
                self._queue.task_done()
            if self._abandon.is_set():
                return

    def _deliver(self, event: Event) -> None:
        accounted = self.output.account() is not None
        with self._lock:
            self._busy_since = self._clock.monotonic()
        try:
            if isinstance(event, Reading):
                self.output.handle_reading(event)
            else:
                self.output.handle_status(event)
        except Exception as err:
            self._failed(f"{type(err).__name__}: {err}", logged=isinstance(err, Unavailable))
            if not accounted:  # an output with an account counts its own losses
                with self._lock:
                    self._dropped["error"] += 1
                self._lost(event)
        else:
            if accounted:
                self.follow_account()
            else:
                with self._lock:
                    self._sent += 1
                    self._last_sent = self._clock.now()
                self._recovered()
        finally:
            with self._lock:
                self._busy_since = None

    def follow_account(self) -> None:
        """Take an output's own account of an attempt: down with its reason, or back."""
        account = self.output.account()
        if account is None:
            return
        with self._lock:
            if account.sent > self._sent:
                self._last_sent = self._clock.now()
            self._sent = account.sent
            self._errors = account.failures
            if self._failing:
                self._held = max(self._held, account.buffered)
        if account.refusal is not None:
            self._failed(account.refusal, at=account.refusal_at, counted=False)
        else:
            self._recovered()

    def _total_dropped(self) -> int:
        account = self.output.account()
        return sum(self._dropped.values()) + (sum(account.dropped.values()) if account else 0)

    def _failed(
        self, message: str, *, logged: bool = False, at: float | None = None, counted: bool = True
    ) -> None:
        with self._lock:
            first = not self._failing
            self._failing = True
            self._last_error = message
            self._last_error_at = at if at is not None else self._clock.now()
            if counted:
                self._errors += 1
            if first:
                self._down_since = self._clock.monotonic()
                self._sent_at_down = self._sent
                self._dropped_at_down = self._total_dropped()
                account = self.output.account()
                self._held = account.buffered if account is not None else 0
        # One line per outage, with the reason; the repeats are counted (``errors``).
        # An Unavailable output has said why itself.
        if first and not logged:
            log.warning("output %s is down: %s", self.output.name, message)

    def _recovered(self) -> None:
        with self._lock:
            if not self._failing:
                return
            self._failing = False
            down_for = self._clock.monotonic() - self._down_since
            sent = self._sent - self._sent_at_down
            dropped = self._total_dropped() - self._dropped_at_down
            held = min(self._held, sent)
        if self.output.account() is not None:
            log.info(
                "output %s is back after %s: sent %d from its buffer, dropped %d",
                self.output.name,
                _duration(down_for),
                held,
                dropped,
            )
        else:
            log.info(
                "output %s is back after %s: dropped %d while it was down",
                self.output.name,
                _duration(down_for),
                dropped,
            )

    def drain(self, timeout: float) -> bool:
        """Wait until the output has handled everything queued; False on timeout."""
        done = self._queue.all_tasks_done
        with done:
            return done.wait_for(lambda: self._queue.unfinished_tasks == 0, timeout)

    def stop(self, timeout: float) -> None:
        """Let the output finish what it holds (within ``timeout``), then close it."""
        try:
            self._queue.put_nowait(None)
            sentinel = 1
        except queue.Full:
            self._abandon.set()
            sentinel = 0
        if self._thread is not None:
            self._thread.join(timeout)
            if not self._thread.is_alive():
                sentinel = 0  # taken: the worker ended on it
        with self._lock:
            self._dropped["shutdown"] += max(0, self._queue.qsize() - sentinel)
        try:
            self.output.close()
        except Exception as err:
            log.warning("output %s: close failed: %s", self.output.name, err)
        self.follow_account()

    def state(self) -> OutputState:
        account = self.output.account()
        with self._lock:
            busy = self._busy_since
            stuck = busy is not None and self._clock.monotonic() - busy > STUCK_SECONDS
            running = self._thread is not None and self._thread.is_alive()
            connected = self.output.connected
            dropped = dict(self._dropped)
            if account is not None:
                for reason, count in account.dropped.items():
                    dropped[reason] = dropped.get(reason, 0) + count
            return OutputState(
                name=self.output.name,
                up=running and connected and not stuck and not self._failing,
                connected=connected,
                queued=self._queue.qsize(),
                sent=account.sent if account is not None else self._sent,
                buffered=account.buffered if account is not None else 0,
                dropped=dropped,
                last_sent=self._last_sent,
                last_error=self._last_error,
                last_error_at=self._last_error_at,
                errors=account.failures if account is not None else self._errors,
            )


class OutputHub:
    """Every output of one service: fan-out, lifecycle and health metrics."""

    def __init__(
        self,
        outputs: list[Output],
        sensors: Mapping[str, Sensor],
        clock: Clock,
        registry: CollectorRegistry | None = None,
        *,
        extra_queue: int = 0,
    ) -> None:
        """``extra_queue`` is room for more records in every output's queue: remote
        nodes that wake at the same second publish a burst the outputs then work off."""
        names = [output.name for output in outputs]
        if len(set(names)) != len(names):
            raise ValueError(f"two outputs share a name: {names}")
        self._sensors = dict(sensors)
        self._runners = [OutputRunner(output, clock, extra_queue) for output in outputs]
        self._started = False
        if registry is not None:
            registry.register(_HubMetrics(self))

    @property
    def outputs(self) -> list[Output]:
        """The outputs the hub runs, in order."""
        return [runner.output for runner in self._runners]

    def start(self) -> None:
        """Start every output's thread; a second call does nothing."""
        if self._started:
            return
        self._started = True
        for runner in self._runners:
            runner.start(self._sensors)

    def publish(self, event: Event) -> None:
        """Hand ``event`` to every output (the collector's ``publish``)."""
        for runner in self._runners:
            runner.submit(event)

    def replay(self, event: Event) -> None:
        """Hand ``event`` to the outputs that keep readings (a journal's replay at start-up),
        waiting for room in their queues rather than dropping it."""
        for runner in self._runners:
            if runner.output.journal is not None:
                runner.submit(event, wait=True)

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every output has handled what was published (tests, shutdown)."""
        return all(runner.drain(timeout) for runner in self._runners)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every output within ``timeout`` seconds in all (real time: shutdown waits for threads)."""
        deadline = time.monotonic() + timeout
        for runner in self._runners:
            runner.stop(max(0.0, deadline - time.monotonic()))

    def states(self) -> list[OutputState]:
        return [runner.state() for runner in self._runners]

    def output(self, name: str) -> Output:
        """The output called ``name``; KeyError when there is none."""
        for runner in self._runners:
            if runner.output.name == name:
                return runner.output
        raise KeyError(name)


class _HubMetrics(PrometheusCollector):
    """The outputs' health at scrape time."""

    def __init__(self, hub: OutputHub) -> None:
        self._hub = hub

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "enviro_output_up", "1 while the output delivers, 0 when it fails or is stuck.", labels=["output"]
        )
        sent = CounterMetricFamily(
            "enviro_output_sent", "Records the destination acknowledged.", labels=["output"]
        )
        buffered = GaugeMetricFamily(
            "enviro_output_buffered",
            "Records held for the destination (in memory or on disk), not yet acknowledged.",
            labels=["output"],
        )
        dropped = CounterMetricFamily(
            "enviro_output_dropped",
            "Records given up on, by reason (queue_full, error, shutdown; buffer_full, refused).",
            labels=["output", "reason"],
        )
        queued = GaugeMetricFamily(
            "enviro_output_queue_length", "Records waiting for the output.", labels=["output"]
        )
        errors = CounterMetricFamily(
            "enviro_output_errors", "Failed attempts to deliver (an outage logs one line).", labels=["output"]
        )
        error_time = GaugeMetricFamily(
            "enviro_output_last_error_timestamp_seconds",
            "When the output last failed (Unix time); absent before its first failure.",
            labels=["output"],
        )
        for state in self._hub.states():
            up.add_metric([state.name], 1.0 if state.up else 0.0)
            sent.add_metric([state.name], state.sent)
            buffered.add_metric([state.name], state.buffered)
            for reason, count in state.dropped.items():
                dropped.add_metric([state.name, reason], count)
            queued.add_metric([state.name], state.queued)
            errors.add_metric([state.name], state.errors)
            if state.last_error_at is not None:
                error_time.add_metric([state.name], state.last_error_at)
        yield from (up, sent, buffered, dropped, queued, errors, error_time)
