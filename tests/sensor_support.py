"""An app on a virtual board whose sensors the test polls by hand."""

from __future__ import annotations

import contextlib
import importlib
import math
import shutil
import subprocess
import threading
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from enviro_sensor.hardware.virtual import ManualClock, VirtualBoard
from enviro_sensor.settings import SENSORS, load_settings
from enviro_sensor.web.app import create_app
from tests.virtual_support import FAST_PMS5003

SENSOR_ROUTES = [
    "/api/sensors",
    "/api/sensors/weather",
    "/api/sensors/gas",
    "/api/sensors/pollution",
    "/api/sensors/particulates",
    "/api/sensors/i2c",
    "/api/sensors/i2c/aht10",
    "/api/sensors/i2c/bmp280",
]
# promtool's one remark on our output, and the reason it stays: particulate
# mass is published in ug/m3, the unit every air-quality limit is written
# in, a documented exception to base units (docs/architecture.md).
PROMTOOL_ACCEPTED = {
    'enviro_particulate_matter_micrograms_per_cubic_meter use base unit "grams" instead of "micrograms"'
}


def kind_options(kind, environ=None, overrides=None):
    """A sensor kind's own options as the service hands them to its reader (None: it declares none)."""
    if kind.settings is None:
        return None
    return load_settings(environ or {}, overrides=overrides).of(kind.settings)


# Vendor driver modules that wait with ``time.sleep`` (resets, conversions,
# the PMS5003's reset pulse): under PolledApp those waits pass on the board's clock.
VENDOR_DRIVERS = ("bme280", "ltr559", "ads1015", "pms5003", "bme680", "enviroplus.gas")


class CollectorDriverTime:
    """Stands in for the ``time`` module of the vendor drivers while PolledApps are open.

    A driver that sleeps inside a call a PolledApp's collector is waiting
    for moves that app's clock instead: the set-up's resets cost no real
    time, and the read timeout counts them as board time, as it would
    count real time on a Pi. A sleep anywhere else is real, and so is one
    in a call the collector gave up on: a driver spinning on a hung chip
    would otherwise race the clock ahead, and other sensors' calls would
    time out by it. Everything but ``sleep`` is the real ``time`` module.
    """

    def __init__(self) -> None:
        self._apps: list[PolledApp] = []
        self._lock = threading.Lock()

    def __getattr__(self, name: str):
        return getattr(time, name)

    def open(self, app: PolledApp) -> None:
        with self._lock:
            if not self._apps:
                for name in VENDOR_DRIVERS:
                    importlib.import_module(name).time = self  # type: ignore[attr-defined]
            self._apps.append(app)

    def close(self, app: PolledApp) -> None:
        """Done with ``app`` (again is fine: a test may close an app twice)."""
        with self._lock:
            if app not in self._apps:
                return
            self._apps.remove(app)
            if not self._apps:
                for name in VENDOR_DRIVERS:
                    importlib.import_module(name).time = time  # type: ignore[attr-defined]

    def sleep(self, seconds: float) -> None:
        clock = self._clock_of_awaited_call()
        if clock is None:
            time.sleep(seconds)
        else:
            clock.advance(seconds)

    def _clock_of_awaited_call(self) -> ManualClock | None:
        thread = threading.current_thread()
        with self._lock:
            apps = list(self._apps)
        for app in apps:
            for state in app.collector._states.values():
                runner = state.runner
                if runner is not None and runner._thread is thread:
                    call = runner._current
                    return app.clock if call is not None and not call.given_up else None
        return None


DRIVER_TIME = CollectorDriverTime()


class PolledApp:
    """The app, its board and its collector, with polling in the test's hands.

    The vendor drivers' own sleeps in the calls it waits for pass on its
    clock (``CollectorDriverTime``) until ``close``.
    """

    def __init__(self, faults=None, environ=None, outputs=None, board_options=None, **settings) -> None:
        self.clock = ManualClock()
        options = {**FAST_PMS5003, **(board_options or {})}
        self.board = VirtualBoard(seed=5, faults=faults, clock=self.clock, **options)
        config = {"read_timeout": 2.0, "gas_warmup": 0.0, "lcd": "off"}
        config.update(settings)
        # Every group polled each second unless the test says otherwise: a
        # reading is then fresh for 3 s plus the read timeout of board time
        # (the readers' own waits move the board's clock too).
        groups = load_settings(environ or {}, overrides=config).of(SENSORS).intervals
        config.update({f"{name}_interval": config.get(f"{name}_interval", 1.0) for name in groups})
        self.registry = CollectorRegistry(auto_describe=True)
        self.app = create_app(
            load_settings(environ or {}, overrides=config),
            board=self.board,
            registry=self.registry,
            clock=self.clock,
            outputs=outputs,
        )
        self.client = self.app.test_client()
        self.service = self.app.extensions["enviro"]
        self.collector = self.service.collector
        DRIVER_TIME.open(self)
        self.service.open_board()
        self.service.start_outputs()

    def poll(self, *groups: str) -> None:
        """One poll of each named group (all enabled groups when none named), outputs caught up."""
        for name in groups or [n for n, g in self.collector.groups.items() if g.enabled]:
            # Light sensors integrate over time: let the board's clock move.
            self.clock.advance(0.2)
            if name == "particulates":
                self._pms5003_caught_up()
            self.collector.poll(name)
        self.settle()

    def poll_giving_up_on(self, sensor: str, call: str = "read") -> None:
        """``poll``, while ``sensor``'s driver hangs in ``call``: its timeout is made to pass on the clock."""
        giving_up_on(self.clock, self.collector, sensor, self.poll, call)

    def _pms5003_caught_up(self) -> None:
        # The emulated sensor follows faults and time on its own thread: let
        # it act on the present before the driver looks.
        # Not started yet (RuntimeError): the first read starts it.
        with contextlib.suppress(RuntimeError):
            self.board.pms5003.catch_up()

    def settle(self) -> None:
        """Wait until every output has handled what the collector published."""
        assert self.service.outputs.drain(10), "an output did not keep up"

    def close(self) -> None:
        self.collector.stop()
        self.service.outputs.stop(5)
        self.board.close()
        DRIVER_TIME.close(self)

    def metric_samples(self) -> list:
        text = self.client.get("/metrics").get_data(as_text=True)
        return [s for family in text_string_to_metric_families(text) for s in family.samples]


def giving_up_on(clock, collector, sensor: str, poll: Callable[[], None], call: str = "read") -> None:
    """Runs ``poll`` while ``sensor``'s driver hangs in ``call``, and moves the clock past its timeout.

    The collector waits for a driver on its clock, so a hung call is given
    up on when the test says so, not when the machine's real time says so:
    once ``sensor``'s ``call`` ("open" or "read") has begun and the collector
    waits for it, the clock is moved to that wait's deadline, once. A driver
    that sleeps while it hangs may pass the deadline by itself
    (``CollectorDriverTime``); either way the call must end given up on.
    Every other call takes what time it takes.
    """
    # The test's own instrument on the part's reader: the collector's record
    # of the call, once it has begun.
    state = collector._states[sensor]
    reader = state.reader
    began, ended = threading.Event(), threading.Event()
    records: list = []
    vendor_call = getattr(reader, call)

    def instrumented(*args):
        records.append(state.runner._current)
        began.set()
        try:
            return vendor_call(*args)
        finally:
            ended.set()

    setattr(reader, call, instrumented)
    finished = threading.Event()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            poll()
        except BaseException as err:  # handed to the test's thread
            failures.append(err)
        finally:
            finished.set()

    threading.Thread(target=run, name="poll-giving-up", daemon=True).start()
    bound = time.monotonic() + 60  # a poll that never ends fails the test instead of hanging it
    moved = False
    try:
        while not finished.wait(0.005):
            # Only the collector's wait for this very call: once that has
            # ended, a pending wait is another sensor's, and is left alone
            # (moving to a deadline already passed moves nothing).
            deadline = clock.deadline_of(records[0].wake) if began.is_set() else None
            if not moved and not ended.is_set() and deadline is not None:
                clock.advance_to(deadline)
                moved = True
            assert time.monotonic() < bound, f"the poll did not end after {sensor} was given up on"
    finally:
        delattr(reader, call)
    if failures:
        raise failures[0]
    assert records and records[0].given_up, f"{sensor}'s {call} did not hang"


def promtool_remarks(text: str) -> set[str]:
    """What ``promtool check metrics`` says about an exposition, line by line."""
    result = subprocess.run(
        [shutil.which("promtool"), "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )
    return {line.strip() for line in (result.stdout + result.stderr).splitlines() if line.strip()}


def all_json_numbers(value):
    """Every number in a JSON document, with its key path."""
    if isinstance(value, dict):
        for key, item in value.items():
            for path, number in all_json_numbers(item):
                yield f"{key}.{path}" if path else key, number
    elif isinstance(value, list):
        for item in value:
            yield from all_json_numbers(item)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield "", value


def assert_no_invalid_values(polled: PolledApp) -> None:
    """Every published value lies within its field's declared range, in JSON and metrics."""
    ranges = {}
    for sensor in polled.service.latest.sensors().values():
        for field in sensor.fields:
            ranges[field.key] = (field.low, field.high)
    for route in SENSOR_ROUTES:
        reply = polled.client.get(route)
        assert reply.status_code in (200, 404, 503), (route, reply.status_code)
        for path, number in all_json_numbers(reply.get_json()):
            key = path.rsplit(".", 1)[-1]
            assert math.isfinite(number), (route, path, number)
            if key in ranges:
                low, high = ranges[key]
                assert low <= number <= high, (route, path, number)
    for sample in polled.metric_samples():
        assert math.isfinite(sample.value), sample
