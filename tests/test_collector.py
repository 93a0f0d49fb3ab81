"""The collector's own rules, with small readers standing in for chips.

The readers here are the product's SensorReader interface, not a mock of a
driver: they let a test decide exactly when a read hangs, fails or returns
nonsense. The real drivers run against the virtual board elsewhere.
"""

import threading

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from collector import Collector
from retrievers import Group, quantities
from retrievers.base import SensorReader
from sensor_metrics import SensorMetrics


class ScriptedReader(SensorReader):
    """Returns the values it is given; can be told to hang or fail."""

    description = "scripted test sensor"
    fields = (quantities.temperature(),)

    def __init__(self, name, value=21.5):
        self.name = name
        self.value = value
        self.open_error: BaseException | None = None
        self.read_error: BaseException | None = None
        self.release = threading.Event()
        self.release.set()
        self.opens = 0

    def open(self, board):
        self.opens += 1
        if self.open_error is not None:
            raise self.open_error

    def read(self):
        self.release.wait()
        if self.read_error is not None:
            raise self.read_error
        return {"temperature_celsius": self.value}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def make(readers_by_group, interval=1.0, read_timeout=0.5):
    registry = CollectorRegistry(auto_describe=True)
    clock = Clock()
    groups = [
        Group(name, interval, readers, read_timeout=read_timeout)
        for name, readers in readers_by_group.items()
    ]
    collector = Collector(object(), groups, SensorMetrics(registry), monotonic=clock)
    return collector, registry, clock


def samples(registry):
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_valid_reading_is_cached_and_exported():
    reader = ScriptedReader("alpha")
    collector, registry, _ = make({"weather": [reader]})
    collector.poll(collector.groups["weather"])
    sensor = collector.snapshot()["alpha"]
    assert (sensor.status, sensor.values) == ("ok", {"temperature_celsius": 21.5})
    got = samples(registry)
    assert got[("enviro_temperature_celsius", (("sensor", "alpha"),))] == 21.5
    assert got[("enviro_sensor_up", (("sensor", "alpha"),))] == 1.0


def test_out_of_range_value_is_counted_and_never_published():
    reader = ScriptedReader("alpha", value=300.0)
    collector, registry, _ = make({"weather": [reader]})
    collector.poll(collector.groups["weather"])
    sensor = collector.snapshot()["alpha"]
    assert sensor.values is None
    assert sensor.status == "failing"
    assert "out_of_range" in sensor.reason
    got = samples(registry)
    assert ("enviro_temperature_celsius", (("sensor", "alpha"),)) not in got
    rejected = (
        "enviro_readings_rejected_total",
        (("field", "temperature_celsius"), ("reason", "out_of_range"), ("sensor", "alpha")),
    )
    assert got[rejected] == 1
    assert got[("enviro_sensor_read_errors_total", (("reason", "invalid_reading"), ("sensor", "alpha")))] == 1
    assert got[("enviro_sensor_up", (("sensor", "alpha"),))] == 0.0


def test_reading_goes_stale_and_leaves_the_metrics():
    reader = ScriptedReader("alpha")
    collector, registry, clock = make({"weather": [reader]}, interval=1.0, read_timeout=0.5)
    collector.poll(collector.groups["weather"])
    reader.read_error = OSError(121, "Remote I/O error")
    clock.now += 3.6  # freshness is 3 intervals plus the read timeout: 3.5 s
    collector.poll(collector.groups["weather"])
    sensor = collector.snapshot()["alpha"]
    assert (sensor.status, sensor.stale) == ("stale", True)
    assert sensor.values == {"temperature_celsius": 21.5}  # shown, marked stale
    got = samples(registry)
    assert ("enviro_temperature_celsius", (("sensor", "alpha"),)) not in got
    assert got[("enviro_sensor_read_errors_total", (("reason", "io_error"), ("sensor", "alpha")))] == 1


def test_a_hung_read_costs_only_its_own_sensor():
    hung, healthy = ScriptedReader("hung"), ScriptedReader("healthy")
    hung.release.clear()
    collector, registry, _ = make({"weather": [hung], "i2c": [healthy]}, read_timeout=0.2)
    collector.poll(collector.groups["weather"])
    collector.poll(collector.groups["i2c"])
    snapshot = collector.snapshot()
    assert snapshot["hung"].status == "failing"
    assert snapshot["hung"].error_reason == "timeout"
    assert snapshot["healthy"].status == "ok"
    # While the call is still stuck, the next poll does not pile up another.
    collector.poll(collector.groups["weather"])
    assert (
        samples(registry)[("enviro_sensor_read_errors_total", (("reason", "timeout"), ("sensor", "hung")))]
        == 2
    )
    hung.release.set()
    for _ in range(20):  # the abandoned call returns in the background
        collector.poll(collector.groups["weather"])
        if collector.snapshot()["hung"].status == "ok":
            break
        threading.Event().wait(0.05)
    assert collector.snapshot()["hung"].status == "ok"


def test_setup_failure_even_systemexit_is_retried_with_backoff():
    reader = ScriptedReader("gpio-less")
    # What gpiodevice raises when the machine has no GPIO chip.
    reader.open_error = SystemExit("suitable gpiochip not found")
    collector, registry, clock = make({"gas": [reader]}, interval=1.0)
    group = collector.groups["gas"]
    collector.poll(group)
    assert collector.snapshot()["gpio-less"].status == "failing"
    assert "gpiochip" in collector.snapshot()["gpio-less"].reason
    collector.poll(group)  # within the back-off: no new attempt
    assert reader.opens == 1
    clock.now += 1.0
    collector.poll(group)
    assert reader.opens == 2
    clock.now += 1.0
    collector.poll(group)  # the second wait is twice as long
    assert reader.opens == 2
    reader.open_error = None
    clock.now += 1.0
    collector.poll(group)
    assert reader.opens == 3
    assert collector.snapshot()["gpio-less"].status == "ok"
    got = samples(registry)
    assert (
        got[("enviro_sensor_read_errors_total", (("reason", "setup_failed"), ("sensor", "gpio-less")))] == 2
    )


def test_repeated_read_failures_set_the_driver_up_again():
    reader = ScriptedReader("flaky")
    collector, _, _ = make({"weather": [reader]})
    group = collector.groups["weather"]
    collector.poll(group)
    reader.read_error = OSError(5, "Input/output error")
    for _ in range(3):
        collector.poll(group)
    reader.read_error = None
    collector.poll(group)
    assert reader.opens == 2
    assert collector.snapshot()["flaky"].status == "ok"


def test_background_threads_poll_and_stop():
    reader = ScriptedReader("alpha")
    registry = CollectorRegistry(auto_describe=True)
    collector = Collector(
        object(), [Group("weather", 0.05, [reader], read_timeout=1.0)], SensorMetrics(registry)
    )
    collector.start()
    try:
        deadline = threading.Event()
        for _ in range(100):
            if collector.snapshot()["alpha"].status == "ok":
                break
            deadline.wait(0.02)
        assert collector.alive()
        assert collector.snapshot()["alpha"].status == "ok"
    finally:
        collector.stop()
    assert not collector.alive()


@pytest.mark.parametrize("error", [RuntimeError("driver says no"), ValueError("odd")])
def test_unexpected_driver_errors_are_reported_not_raised(error):
    reader = ScriptedReader("alpha")
    reader.read_error = error
    collector, _, _ = make({"weather": [reader]})
    collector.poll(collector.groups["weather"])
    assert collector.snapshot()["alpha"].error_reason == "driver_error"


def test_a_sensor_that_comes_back_is_read_while_its_set_up_backs_off():
    reader = ScriptedReader("blip")
    collector, _, clock = make({"weather": [reader]}, interval=1.0)
    group = collector.groups["weather"]
    collector.poll(group)
    # The chip drops off the bus: reads fail, and so does setting it up again.
    reader.read_error = OSError(121, "Remote I/O error")
    reader.open_error = OSError(121, "Remote I/O error")
    # Three failed reads, then set-ups failing at 1 s and 2 s back-off.
    for _ in range(5):
        clock.now += 1.0
        collector.poll(group)
    assert collector.snapshot()["blip"].error_reason == "setup_failed"
    opens_so_far = reader.opens
    # It is back, with its configuration. The next poll reads it, without
    # waiting for the set-up's back-off to run out.
    reader.read_error = reader.open_error = None
    clock.now += 1.0
    collector.poll(group)
    assert collector.snapshot()["blip"].status == "ok"
    assert reader.opens == opens_so_far
