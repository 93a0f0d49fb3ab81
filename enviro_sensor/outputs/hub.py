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
    sent: int
    dropped: Mapping[str, int]
    last_sent: float | None
    #: The last error, kept after the output recovers (``up`` says whether it did).
    last_error: str | None


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
        self._failing = False
        self._busy_since: float | None = None

    def start(self, sensors: Mapping[str, Sensor]) -> None:
        self._thread = threading.Thread(
            target=self._work, args=(sensors,), name=f"output-{self.output.name}", daemon=True
        )
        self._thread.start()

    def submit(self, event: Event) -> None:
        """Queue ``event`` for the output; never blocks."""
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            with self._lock:
                self._dropped["queue_full"] += 1

    def _work(self, sensors: Mapping[str, Sensor]) -> None:
        try:
            self.output.start(sensors)
        except Exception as err:
            self._failed(err)
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
        with self._lock:
            self._busy_since = self._clock.monotonic()
        try:
            if isinstance(event, Reading):
                self.output.handle_reading(event)
            else:
                self.output.handle_status(event)
        except Exception as err:
            self._failed(err)
            with self._lock:
                self._dropped["error"] += 1
        else:
            with self._lock:
                self._sent += 1
                self._last_sent = self._clock.now()
                self._failing = False
        finally:
            with self._lock:
                self._busy_since = None

    def _failed(self, err: Exception) -> None:
        message = f"{type(err).__name__}: {err}"
        with self._lock:
            first = not self._failing
            self._failing = True
            self._last_error = message
        if first and not isinstance(err, Unavailable):  # once per run of failures, not per record
            log.warning("output %s failed: %s", self.output.name, message)

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

    def state(self) -> OutputState:
        with self._lock:
            busy = self._busy_since
            stuck = busy is not None and self._clock.monotonic() - busy > STUCK_SECONDS
            running = self._thread is not None and self._thread.is_alive()
            connected = self.output.connected
            return OutputState(
                name=self.output.name,
                up=running and connected and not stuck and not self._failing,
                connected=connected,
                queued=self._queue.qsize(),
                sent=self._sent,
                dropped=dict(self._dropped),
                last_sent=self._last_sent,
                last_error=self._last_error,
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
        sent = CounterMetricFamily("enviro_output_sent", "Records the output delivered.", labels=["output"])
        dropped = CounterMetricFamily(
            "enviro_output_dropped",
            "Records that did not reach the output, by reason (queue_full, error, shutdown).",
            labels=["output", "reason"],
        )
        queued = GaugeMetricFamily(
            "enviro_output_queue_length", "Records waiting for the output.", labels=["output"]
        )
        for state in self._hub.states():
            up.add_metric([state.name], 1.0 if state.up else 0.0)
            sent.add_metric([state.name], state.sent)
            for reason, count in state.dropped.items():
                dropped.add_metric([state.name, reason], count)
            queued.add_metric([state.name], state.queued)
        yield from (up, sent, dropped, queued)
