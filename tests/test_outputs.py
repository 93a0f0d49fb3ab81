"""Outputs: every record in order, each on its own thread, a stuck one costing nobody else.

The service runs on the virtual board with the real drivers; the outputs
here are test outputs plugged in through ``create_app(outputs=...)``, beside
the built-in HTTP cache and Prometheus gauges.
"""

from __future__ import annotations

import threading

from prometheus_client.parser import text_string_to_metric_families

from enviro_sensor.outputs.base import Output
from enviro_sensor.outputs.hub import STUCK_SECONDS
from enviro_sensor.records import Reading, StatusChange
from tests.sensor_support import PolledApp


class RecordingOutput(Output):
    """Keeps every record it is given, in the order given."""

    def __init__(self, name: str = "recorder") -> None:
        self.name = name
        self.records: list[Reading | StatusChange] = []
        self.started_with: list[str] = []

    def start(self, sensors):
        self.started_with = list(sensors)

    def handle_reading(self, reading):
        self.records.append(reading)

    def handle_status(self, change):
        self.records.append(change)


class BlockedOutput(RecordingOutput):
    """Takes one record, then blocks until the test lets it go."""

    queue_size = 5

    def __init__(self) -> None:
        super().__init__("blocked")
        self.release = threading.Event()
        self.entered = threading.Event()

    def handle_reading(self, reading):
        self.entered.set()
        self.release.wait()
        super().handle_reading(reading)

    def handle_status(self, change):
        self.entered.set()
        self.release.wait()
        super().handle_status(change)


def samples(polled: PolledApp) -> dict:
    text = polled.client.get("/metrics").get_data(as_text=True)
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_an_output_receives_every_reading_and_status_change_in_order():
    recorder = RecordingOutput()
    polled = PolledApp(outputs=[recorder], faults={"bmp280": "absent"})
    try:
        polled.poll("weather", "i2c")
        polled.board.faults.clear("bmp280")
        polled.board.faults.set("aht10", "ioerror")
        polled.clock.advance(60)  # past the set-up back-off, and past every reading's freshness
        polled.poll("i2c")
        polled.poll("weather")
        assert recorder.started_with == [
            "bme280",
            "ltr559",
            "mics6814",
            "pms5003",
            "aht10",
            "bmp280",
            "microphone",
        ]
        by_sensor: dict[str, list] = {}
        for record in recorder.records:
            by_sensor.setdefault(record.sensor, []).append(record)

        def story(name):
            return [
                ("reading", round(r.time, 1)) if isinstance(r, Reading) else (r.status, r.up)
                for r in by_sensor[name]
            ]

        # The AHT10 read, then failed after going stale: ok first, then its
        # reading, then failing... in the order they happened.
        aht10 = story("aht10")
        assert aht10[0] == ("ok", True)
        assert aht10[1][0] == "reading"
        assert aht10[2:] == [("stale", False)], aht10
        # The BMP280 failed to set up, then came back.
        bmp280 = story("bmp280")
        assert bmp280[0] == ("failing", False)
        assert bmp280[1] == ("ok", True)
        assert bmp280[2][0] == "reading"
        # Every reading the HTTP cache shows is one the output received.
        readings = [r for r in recorder.records if isinstance(r, Reading)]
        assert len(readings) == 3 + 1 + 2  # bme280, ltr559, aht10; the BMP280 back; weather again
        latest = polled.client.get("/api/sensors/weather/bme280").get_json()["result"]
        assert latest["values"] == dict(next(r for r in reversed(readings) if r.sensor == "bme280").values)
        # Times only grow, per sensor.
        for records in by_sensor.values():
            times = [r.monotonic for r in records]
            assert times == sorted(times)
    finally:
        polled.close()


def test_a_stuck_output_delays_nothing_and_its_losses_are_counted():
    blocked, recorder = BlockedOutput(), RecordingOutput()
    polled = PolledApp(outputs=[blocked, recorder])
    try:
        polled.collector.poll("weather")
        assert blocked.entered.wait(5)
        # Blocked on its first record, it holds 5 more and then drops: polling
        # goes on, and the other outputs get everything.
        for _ in range(10):
            polled.clock.advance(0.2)
            polled.collector.poll("weather")
            polled.collector.poll("i2c")
        assert polled.service.outputs.drain(0.2) is False  # the blocked one never catches up
        for runner_state in polled.service.outputs.states():
            if runner_state.name != "blocked":
                assert runner_state.queued == 0
        readings = [r for r in recorder.records if isinstance(r, Reading)]
        assert len(readings) == 11 * 2 + 10 * 2
        # HTTP answers from its own cache, current to the last poll.
        weather = polled.client.get("/api/sensors/weather").get_json()["result"]
        assert weather["status"] == "ok"
        assert weather["sensors"]["bme280"]["values"] == dict(
            next(r for r in reversed(readings) if r.sensor == "bme280").values
        )
        state = polled.client.get("/api/outputs").get_json()["result"]["outputs"]
        assert state["blocked"]["queued"] == 5
        assert state["blocked"]["dropped"]["queue_full"] == len(recorder.records) - 1 - 5
        assert state["blocked"]["sent"] == 0
        assert state["recorder"]["sent"] == len(recorder.records)
        assert state["http"]["up"] and state["recorder"]["up"]
        got = samples(polled)
        assert got[("enviro_output_dropped_total", (("output", "blocked"), ("reason", "queue_full")))] > 0
        assert got[("enviro_output_queue_length", (("output", "blocked"),))] == 5
        assert got[("enviro_output_up", (("output", "blocked"),))] == 1  # not yet judged stuck
        polled.clock.advance(STUCK_SECONDS + 1)
        got = samples(polled)
        assert got[("enviro_output_up", (("output", "blocked"),))] == 0
        assert got[("enviro_output_up", (("output", "recorder"),))] == 1
        # Let go, it works through what it kept, and is up again.
        blocked.release.set()
        assert polled.service.outputs.drain(5)
        assert len(blocked.records) == 1 + 5
        assert polled.client.get("/api/outputs").get_json()["result"]["outputs"]["blocked"]["up"]
    finally:
        blocked.release.set()
        polled.close()


def test_an_output_that_raises_loses_that_record_and_goes_on():
    class Failing(RecordingOutput):
        def handle_reading(self, reading):
            if reading.sensor == "bme280":
                raise ConnectionError("database went away")
            super().handle_reading(reading)

    failing = Failing("flaky")
    polled = PolledApp(outputs=[failing])
    try:
        polled.poll("weather")
        state = polled.client.get("/api/outputs").get_json()["result"]["outputs"]["flaky"]
        assert state["dropped"]["error"] == 1
        assert "database went away" in state["last_error"]
        # The LTR559's reading came after the failure and went through: up again.
        assert state["up"]
        assert any(isinstance(r, Reading) and r.sensor == "ltr559" for r in failing.records)
    finally:
        polled.close()


def test_at_shutdown_an_output_finishes_what_it_holds_and_a_stuck_one_is_left():
    blocked, recorder = BlockedOutput(), RecordingOutput()
    polled = PolledApp(outputs=[blocked, recorder])
    try:
        polled.collector.poll("weather")
        assert blocked.entered.wait(5)
        polled.collector.poll("i2c")
        hub = polled.service.outputs
        queued = {state.name: state.queued for state in hub.states()}
        assert queued["blocked"] == 5  # full: two more were dropped
        hub.stop(0.5)
        states = {state.name: state for state in hub.states()}
        # The recorder handled everything it was given before it stopped...
        assert len(recorder.records) == states["recorder"].sent == 8
        assert states["recorder"].dropped["shutdown"] == 0
        # ...and the stuck one's backlog is counted as lost, not waited for.
        assert states["blocked"].dropped["shutdown"] == 5
        assert states["blocked"].dropped["queue_full"] == 2
    finally:
        blocked.release.set()
        polled.board.close()


def test_a_slow_output_is_given_its_backlog_before_it_stops():
    class Slow(RecordingOutput):
        def handle_reading(self, reading):
            threading.Event().wait(0.01)  # a network round trip
            super().handle_reading(reading)

    slow = Slow("slow")
    polled = PolledApp(outputs=[slow])
    try:
        for _ in range(5):
            polled.clock.advance(1)
            polled.collector.poll("weather")
        polled.service.outputs.stop(5)
        state = next(s for s in polled.service.outputs.states() if s.name == "slow")
        assert state.dropped["shutdown"] == 0
        assert len([r for r in slow.records if isinstance(r, Reading)]) == 10
    finally:
        polled.board.close()
