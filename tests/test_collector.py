"""The collector's rules, with small readers standing in for chips.

The readers here are the product's SensorReader interface, not a mock of a
driver: they let a test decide exactly when a read hangs, fails or returns
nonsense. The collector feeds the same outputs as in the service (the HTTP
cache and the Prometheus gauges). The real drivers run against the virtual
board elsewhere.
"""

import threading

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from enviro_sensor.collector.polling import Collector
from enviro_sensor.hardware.virtual import ManualClock
from enviro_sensor.metrics.sensor_health import SensorHealth
from enviro_sensor.outputs.hub import OutputHub
from enviro_sensor.outputs.latest import LatestReadings, LatestStore
from enviro_sensor.outputs.prometheus import PrometheusGauges
from enviro_sensor.sensors import quantities
from enviro_sensor.sensors.base import SensorReader
from enviro_sensor.sensors.config import GroupConfig, Sensor
from enviro_sensor.sensors.registry import SensorKind
from tests.sensor_support import giving_up_on


class ScriptedReader(SensorReader):
    """Returns the values it is given; can be told to hang or fail."""

    def __init__(self, name, value=21.5):
        self.scripted_name = name
        self.value = value
        self.open_error: BaseException | None = None
        self.read_error: BaseException | None = None
        self.release = threading.Event()
        self.release.set()
        self.reading = threading.Event()
        self.opens = 0

    def open(self, board):
        self.opens += 1
        if self.open_error is not None:
            raise self.open_error

    def read(self):
        self.reading.set()
        self.release.wait()
        if self.read_error is not None:
            raise self.read_error
        return {"temperature_celsius": self.value}


SCRIPTED = SensorKind(
    kind="scripted",
    description="scripted test sensor",
    fields=(quantities.temperature(),),
    group="weather",
    reader=lambda sensor, settings, clock: None,  # the tests build their readers themselves
)


class Polled:
    """A collector over scripted readers, its outputs and its metrics; polled by hand."""

    def __init__(self, readers_by_group, interval=1.0, read_timeout=0.5, threads=False):
        self.registry = CollectorRegistry(auto_describe=True)
        self.clock = ManualClock(1000.0)
        groups = [
            GroupConfig(
                name,
                f"the {name} group",
                interval,
                read_timeout,
                True,
                tuple(Sensor(reader.scripted_name, SCRIPTED, None, 1, name) for reader in readers),
            )
            for name, readers in readers_by_group.items()
        ]
        sensors = {sensor.name: sensor for group in groups for sensor in group.sensors}
        freshness = {group.name: group.freshness for group in groups}
        self.latest = LatestStore(sensors, freshness, self.clock)
        self.outputs = OutputHub(
            [
                LatestReadings(self.latest),
                PrometheusGauges(
                    LatestStore(sensors, freshness, self.clock), self.registry, dict.fromkeys(freshness, 1.0)
                ),
            ],
            sensors,
            self.clock,
            self.registry,
        )
        readers = {r.scripted_name: r for rs in readers_by_group.values() for r in rs}
        self.collector = Collector(
            object(), groups, readers, self.outputs.publish, SensorHealth(self.registry), self.clock
        )
        self.outputs.start()

    def poll(self, group):
        self.collector.poll(group)
        assert self.outputs.drain(5)

    def view(self, name):
        assert self.outputs.drain(5)
        return self.latest.view(name)


def make(readers_by_group, interval=1.0, read_timeout=0.5):
    polled = Polled(readers_by_group, interval, read_timeout)
    return polled, polled.registry, polled.clock


def samples(registry):
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_valid_reading_is_cached_and_exported():
    reader = ScriptedReader("alpha")
    polled, registry, _ = make({"weather": [reader]})
    polled.poll("weather")
    sensor = polled.view("alpha")
    assert (sensor.status, sensor.values) == ("ok", {"temperature_celsius": 21.5})
    got = samples(registry)
    assert got[("enviro_temperature_celsius", (("sensor", "alpha"),))] == 21.5
    assert got[("enviro_sensor_up", (("sensor", "alpha"),))] == 1.0


def test_out_of_range_value_is_counted_and_never_published():
    reader = ScriptedReader("alpha", value=300.0)
    polled, registry, _ = make({"weather": [reader]})
    polled.poll("weather")
    sensor = polled.view("alpha")
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
    polled, registry, clock = make({"weather": [reader]}, interval=1.0, read_timeout=0.5)
    polled.poll("weather")
    reader.read_error = OSError(121, "Remote I/O error")
    clock.advance(3.6)  # freshness is 3 intervals plus the read timeout: 3.5 s
    polled.poll("weather")
    sensor = polled.view("alpha")
    assert (sensor.status, sensor.stale) == ("stale", True)
    assert sensor.values == {"temperature_celsius": 21.5}  # shown, marked stale
    got = samples(registry)
    assert ("enviro_temperature_celsius", (("sensor", "alpha"),)) not in got
    assert got[("enviro_sensor_read_errors_total", (("reason", "io_error"), ("sensor", "alpha")))] == 1


def test_a_hung_read_costs_only_its_own_sensor():
    hung, healthy = ScriptedReader("hung"), ScriptedReader("healthy")
    hung.release.clear()
    polled, registry, clock = make({"weather": [hung], "i2c": [healthy]}, read_timeout=0.2)
    giving_up_on(clock, polled.collector, "hung", lambda: polled.poll("weather"))
    polled.poll("i2c")
    assert polled.view("hung").status == "failing"
    assert polled.view("hung").error_reason == "timeout"
    assert polled.view("healthy").status == "ok"
    # While the call is still stuck, the next poll does not pile up another.
    polled.poll("weather")
    assert (
        samples(registry)[("enviro_sensor_read_errors_total", (("reason", "timeout"), ("sensor", "hung")))]
        == 2
    )
    hung.release.set()
    for _ in range(20):  # the abandoned call returns in the background
        polled.poll("weather")
        if polled.view("hung").status == "ok":
            break
        threading.Event().wait(0.05)
    assert polled.view("hung").status == "ok"


def test_setup_failure_even_systemexit_is_retried_with_backoff():
    reader = ScriptedReader("gpio-less")
    # What gpiodevice raises when the machine has no GPIO chip.
    reader.open_error = SystemExit("suitable gpiochip not found")
    polled, registry, clock = make({"gas": [reader]}, interval=1.0)
    group = "gas"
    polled.poll(group)
    assert polled.view("gpio-less").status == "failing"
    assert "gpiochip" in polled.view("gpio-less").reason
    polled.poll(group)  # within the back-off: no new attempt
    assert reader.opens == 1
    clock.advance(1.0)
    polled.poll(group)
    assert reader.opens == 2
    clock.advance(1.0)
    polled.poll(group)  # the second wait is twice as long
    assert reader.opens == 2
    reader.open_error = None
    clock.advance(1.0)
    polled.poll(group)
    assert reader.opens == 3
    assert polled.view("gpio-less").status == "ok"
    got = samples(registry)
    assert (
        got[("enviro_sensor_read_errors_total", (("reason", "setup_failed"), ("sensor", "gpio-less")))] == 2
    )


def test_repeated_read_failures_set_the_driver_up_again():
    reader = ScriptedReader("flaky")
    polled, _, _ = make({"weather": [reader]})
    group = "weather"
    polled.poll(group)
    reader.read_error = OSError(5, "Input/output error")
    for _ in range(3):
        polled.poll(group)
    reader.read_error = None
    polled.poll(group)
    assert reader.opens == 2
    assert polled.view("flaky").status == "ok"


def test_background_threads_poll_and_stop():
    reader = ScriptedReader("alpha")
    polled = Polled({"weather": [reader]}, interval=0.05, read_timeout=1.0)
    collector = polled.collector
    collector.start()
    try:
        deadline = threading.Event()
        for _ in range(100):
            if polled.view("alpha").status == "ok":
                break
            deadline.wait(0.02)
        assert collector.alive()
        assert polled.view("alpha").status == "ok"
    finally:
        collector.stop()
    assert not collector.alive()


def test_stopping_does_not_wait_for_a_hung_driver():
    hung = ScriptedReader("hung")
    hung.release.clear()
    polled = Polled({"weather": [hung]}, read_timeout=30.0)
    polled.collector.start()
    try:
        assert hung.reading.wait(30)
        polled.collector.stop(timeout=30)
        # The polling thread ended: it did not sit out the read timeout.
        assert not [t for t in threading.enumerate() if t.name == "poll-weather" and t.is_alive()]
        # Giving up at shutdown is not a failure of the sensor.
        assert polled.view("hung").error_reason is None
    finally:
        hung.release.set()


@pytest.mark.parametrize("error", [RuntimeError("driver says no"), ValueError("odd")])
def test_unexpected_driver_errors_are_reported_not_raised(error):
    reader = ScriptedReader("alpha")
    reader.read_error = error
    polled, _, _ = make({"weather": [reader]})
    polled.poll("weather")
    assert polled.view("alpha").error_reason == "driver_error"


def test_a_sensor_that_comes_back_is_read_while_its_set_up_backs_off():
    reader = ScriptedReader("blip")
    polled, _, clock = make({"weather": [reader]}, interval=1.0)
    group = "weather"
    polled.poll(group)
    # The chip drops off the bus: reads fail, and so does setting it up again.
    reader.read_error = OSError(121, "Remote I/O error")
    reader.open_error = OSError(121, "Remote I/O error")
    # Three failed reads, then set-ups failing at 1 s and 2 s back-off.
    for _ in range(5):
        clock.advance(1.0)
        polled.poll(group)
    assert polled.view("blip").error_reason == "setup_failed"
    opens_so_far = reader.opens
    # It is back, with its configuration. The next poll reads it, without
    # waiting for the set-up's back-off to run out.
    reader.read_error = reader.open_error = None
    clock.advance(1.0)
    polled.poll(group)
    assert polled.view("blip").status == "ok"
    assert reader.opens == opens_so_far
