"""The PMS5003's duty cycle (ENVIRO_PARTICULATES_DUTY), through the real driver on the virtual board.

The board's clock is a ManualClock the test moves: the collector's
schedule, the reader's duty cycle and the emulated sensor's fan all follow it.
"""

from __future__ import annotations

import datetime

import pytest

from enviro_sensor.hardware.board import PINS
from enviro_sensor.hardware.virtual.pms5003 import SLEEP_OR_WAKE, Command
from enviro_sensor.outputs.base import OutputContext
from enviro_sensor.outputs.mqtt import discovery_config
from enviro_sensor.records import iso_utc
from enviro_sensor.sensors.duty import DutyCycle
from enviro_sensor.settings import SettingsError, load_settings
from tests.sensor_support import PolledApp

ON, PERIOD = 30.0, 300.0
# The emulated fan spins up for the data manual's 30 s after waking.
REAL_SPIN_UP = {"pms5003_spin_up": 30.0}
PM25 = "pm2_5_micrograms_per_cubic_meter"


def duty_app(sleep: str = "pin") -> PolledApp:
    return PolledApp(
        board_options=REAL_SPIN_UP,
        particulates_duty=DutyCycle(ON, PERIOD),
        particulates_sleep=sleep,
    )


@pytest.fixture
def polled():
    app = duty_app()
    yield app
    app.close()


def pms(polled: PolledApp) -> dict:
    return polled.client.get("/api/sensors/particulates").get_json()["result"]["sensors"]["pms5003"]


def sample(polled: PolledApp, name: str, **labels: str) -> float | None:
    for s in polled.metric_samples():
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None


def run_to(polled: PolledApp, board_seconds: float) -> None:
    """Poll the particulates once a second of board time until the clock reads ``board_seconds``."""
    while polled.clock.monotonic() + 1.0 <= board_seconds:
        polled.clock.advance(0.8)  # poll() adds 0.2 s
        polled.poll("particulates")


def published_times(polled: PolledApp) -> list[str]:
    """The time of the PMS5003's reading as published now (empty before the first)."""
    reply = polled.client.get("/api/sensors/particulates/pms5003")
    return [reply.get_json()["result"]["time"]] if reply.status_code == 200 else []


def test_a_full_duty_cycle(polled):
    fan = polled.board.pms5003
    polled.poll("particulates")  # opened: the sensor is awake and the cycle begins
    woke = polled.clock.now()
    assert fan.fan_running()

    # Spin-up: the fan runs and the sensor sends frames, unsettled ones, but
    # nothing is published; the group says when its first reading comes.
    run_to(polled, 20)
    assert fan.fan_running() and fan.frames_sent > 0 and fan.unsettled_frames > 0
    reply = polled.client.get("/api/sensors/particulates")
    assert reply.status_code == 503 and reply.headers["Retry-After"]
    assert "pms5003: warming up, " in reply.get_json()["error"]["message"]
    index = polled.client.get("/api/sensors").get_json()["result"]["groups"]["particulates"]
    assert index["sensors"]["pms5003"]["status"] == "warming-up"
    assert sample(polled, "enviro_sensor_up", sensor="pms5003") == 1.0  # not failing
    assert sample(polled, "enviro_particulate_matter_micrograms_per_cubic_meter", sensor="pms5003") is None

    # Settled: one reading, the environment's air, then asleep.
    run_to(polled, ON + 1.5)
    body = pms(polled)
    assert body["status"] == "ok" and body["stale"] is False
    truth = polled.board.environment.conditions()
    assert body["values"][PM25] == pytest.approx(truth.pm2_5_ugm3, abs=1)
    assert body["sleeping"] is True
    next_at = datetime.datetime.fromisoformat(body["next_reading_at"]).timestamp()
    assert next_at == pytest.approx(woke + PERIOD + ON, abs=1)
    assert not fan.fan_running() and not polled.board.gpio.level(PINS["pms5003_enable"])
    assert sample(polled, "enviro_sensor_sleeping", sensor="pms5003") == 1.0
    assert sample(polled, "enviro_sensor_sleeping", sensor="bme280") == 0.0
    assert (
        sample(
            polled,
            "enviro_particulate_matter_micrograms_per_cubic_meter",
            sensor="pms5003",
            size="2.5",
            standard="cf1",
        )
        == body["values"][PM25]
    )
    first = published_times(polled)

    # Asleep: no frames, no new reading, and the reading stays current (not
    # stale, still in the metrics) until the next.
    fan.catch_up()
    frames_asleep = fan.frames_sent
    run_to(polled, PERIOD - 1)
    fan.catch_up()
    assert fan.frames_sent == frames_asleep
    assert published_times(polled) == first
    body = pms(polled)
    assert (body["status"], body["stale"], body["sleeping"]) == ("ok", False, True)
    assert sample(polled, "enviro_sensor_up", sensor="pms5003") == 1.0
    assert body.get("reason") is None
    assert (
        sample(
            polled,
            "enviro_particulate_matter_micrograms_per_cubic_meter",
            sensor="pms5003",
            size="2.5",
            standard="cf1",
        )
        is not None
    )

    # The period is over: awake again, spinning up, the old reading shown
    # until the new one is due.
    run_to(polled, PERIOD + 1.5)
    assert fan.fan_running()
    body = pms(polled)
    assert (body["status"], body["sleeping"]) == ("ok", False)
    assert published_times(polled) == first
    second_due = datetime.datetime.fromisoformat(body["next_reading_at"]).timestamp()
    assert second_due == pytest.approx(next_at, abs=2)
    assert sample(polled, "enviro_sensor_sleeping", sensor="pms5003") == 0.0

    run_to(polled, PERIOD + ON + 3)
    assert published_times(polled) != first
    assert pms(polled)["sleeping"] is True
    assert not fan.fan_running()


def test_the_metrics_help_says_how_often_particulates_are_sampled(polled):
    run_to(polled, ON + 1.5)
    text = polled.client.get("/metrics").get_data(as_text=True)
    help_line = next(
        line for line in text.splitlines() if line.startswith("# HELP enviro_particles_per_deciliter ")
    )
    assert "particulates every 300 s" in help_line
    assert "# HELP enviro_sensor_sleeping " in text


def test_the_freshness_window_and_home_assistants_expiry_cover_the_period(polled):
    group = polled.collector.groups["particulates"]
    assert group.freshness > PERIOD
    assert polled.collector.groups["weather"].freshness < PERIOD  # other groups keep theirs
    sensor = next(s for s in group.sensors if s.name == "pms5003")
    # What the outputs are given, as the service builds it.
    context = OutputContext(polled.registry, {}, tuple(polled.service.groups), polled.clock)
    _, payload = discovery_config(sensor, sensor.fields[0], "pi", "enviro", context.freshness["particulates"])
    assert payload["expire_after"] > PERIOD


def test_serial_commands_put_the_fan_to_sleep_with_set_still_high():
    polled = duty_app(sleep="serial")
    try:
        fan = polled.board.pms5003
        run_to(polled, ON + 1.5)
        fan.catch_up()
        assert pms(polled)["sleeping"] is True
        assert polled.board.gpio.level(PINS["pms5003_enable"])  # SET untouched
        assert not fan.fan_running()
        assert fan.commands[-1] == Command(SLEEP_OR_WAKE, 0)
        run_to(polled, PERIOD + 1.5)
        fan.catch_up()
        assert fan.fan_running()
        assert fan.commands[-1] == Command(SLEEP_OR_WAKE, 1)
        first = published_times(polled)
        run_to(polled, PERIOD + ON + 3)
        assert published_times(polled) != first
        assert fan.commands_ignored == 0
    finally:
        polled.close()


def test_pause_and_resume_with_a_duty_cycle(polled):
    fan = polled.board.pms5003
    run_to(polled, ON + 1.5)
    first = published_times(polled)
    run_to(polled, PERIOD + 5)  # awake and spinning up
    assert fan.fan_running()

    assert polled.client.post("/api/sensors/particulates/pause").status_code == 200
    polled.poll("particulates")
    assert not fan.fan_running()
    body = pms(polled)
    assert body["status"] == "paused" and "next_reading_at" not in body
    assert sample(polled, "enviro_sensor_paused", sensor="pms5003") == 1.0
    assert sample(polled, "enviro_sensor_sleeping", sensor="pms5003") == 0.0
    run_to(polled, PERIOD + 100)
    assert published_times(polled) == first

    # Resumed: a fresh cycle, with the fan's whole spin-up before the reading.
    assert polled.client.post("/api/sensors/particulates/resume").status_code == 200
    polled.poll("particulates")
    resumed = polled.clock.now()
    assert fan.fan_running()
    body = pms(polled)
    due = datetime.datetime.fromisoformat(body["next_reading_at"]).timestamp()
    assert due == pytest.approx(resumed + ON, abs=1)
    run_to(polled, polled.clock.monotonic() + ON - 2)
    assert published_times(polled) == first
    run_to(polled, polled.clock.monotonic() + 4)
    assert published_times(polled) != first
    assert not fan.fan_running()


def test_without_a_duty_cycle_the_sensor_runs_and_json_has_no_schedule():
    polled = PolledApp()
    try:
        polled.poll("particulates")
        body = pms(polled)
        assert body["status"] == "ok"
        assert "sleeping" not in body and "next_reading_at" not in body
        assert polled.board.pms5003.fan_running()
    finally:
        polled.close()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("300/30", "0 < on < period"),
        ("30", "on/period"),
        ("a/b", "on/period"),
        ("0/300", "0 < on < period"),
        ("nan/300", "0 < on < period"),
        ("30/100000", "0 < on < period"),
    ],
)
def test_a_bad_duty_cycle_stops_start_up_naming_the_setting(value, problem):
    with pytest.raises(SettingsError) as caught:
        load_settings({"ENVIRO_PARTICULATES_DUTY": value})
    message = str(caught.value)
    assert message.startswith("ENVIRO_PARTICULATES_DUTY: ") and problem in message
    assert "\n" not in message


def test_duty_settings_parse():
    settings = load_settings({"ENVIRO_PARTICULATES_DUTY": " 30/300 ", "ENVIRO_PARTICULATES_SLEEP": "Serial"})
    assert settings.particulates_duty == DutyCycle(30.0, 300.0)
    assert settings.particulates_sleep == "serial"
    assert load_settings({}).particulates_duty is None
    with pytest.raises(SettingsError, match=r"^ENVIRO_PARTICULATES_SLEEP: "):
        load_settings({"ENVIRO_PARTICULATES_SLEEP": "relay"})


def test_iso_next_reading_matches_records_format(polled):
    run_to(polled, ON + 1.5)
    next_at = pms(polled)["next_reading_at"]
    assert next_at == iso_utc(datetime.datetime.fromisoformat(next_at).timestamp())
