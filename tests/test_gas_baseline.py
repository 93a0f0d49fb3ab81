"""The MICS6814's clean-air baseline: Rs/R0 learned from hourly medians, kept across restarts."""

from __future__ import annotations

import json
import logging

import pytest

from enviro_sensor.sensors.gas_baseline import HOUR, MIN_HOURS, SETTINGS, GasBaseline, from_options
from enviro_sensor.sensors.saved_state import SavedState
from enviro_sensor.settings import load_settings
from tests.sensor_support import PolledApp

CHANNELS = ("oxidising", "reducing", "nh3")
START = 1_700_000_000.0 - 1_700_000_000.0 % HOUR  # the top of an hour
FILE = "gas-baseline-mics6814.json"


def baseline(tmp_path, days: float = 7) -> GasBaseline:
    return GasBaseline(CHANNELS, days, SavedState(tmp_path, FILE, 600))


def ohms(oxidising: float, reducing: float, nh3: float) -> dict[str, float]:
    return {"oxidising_ohms": oxidising, "reducing_ohms": reducing, "nh3_ohms": nh3}


def feed_hours(gas: GasBaseline, first_hour: int, hours: int, values_for) -> None:
    """Six reads an hour (every 10 minutes) for ``hours`` hours from ``first_hour``."""
    for hour in range(first_hour, first_hour + hours):
        for minute in range(0, 60, 10):
            gas.derive(values_for(hour), START + hour * HOUR + minute * 60)


def clean_hour_every_day(hour: int) -> dict[str, float]:
    # Aired at 07:00 each day: the reducing and NH3 elements read highest,
    # the oxidising one lowest; the rest of the day is "used" air.
    if hour % 24 == 7:
        return ohms(20_000, 400_000, 160_000)
    return ohms(26_000, 250_000, 120_000)


def test_no_ratio_while_learning_and_the_notes_say_how_far(tmp_path):
    gas = baseline(tmp_path)
    feed_hours(gas, 0, 5, clean_hour_every_day)
    derived = gas.derive(ohms(20_000, 400_000, 160_000), START + 5 * HOUR)
    assert derived.values == {}
    for channel in CHANNELS:
        assert derived.notes[f"{channel}_ratio"] == (
            f"learning the clean-air baseline: 5 of {MIN_HOURS} hourly medians so far"
        )


def test_after_a_day_each_channel_is_divided_by_its_cleanest_hour(tmp_path):
    gas = baseline(tmp_path)
    feed_hours(gas, 0, MIN_HOURS, clean_hour_every_day)
    derived = gas.derive(ohms(30_000, 200_000, 80_000), START + MIN_HOURS * HOUR)
    # R0: lowest oxidising (NO2 raises it), highest reducing and NH3 (their gases lower them).
    assert derived.values == {
        "oxidising_ratio": pytest.approx(30_000 / 20_000),
        "reducing_ratio": pytest.approx(200_000 / 400_000),
        "nh3_ratio": pytest.approx(80_000 / 160_000),
    }
    assert derived.notes["reducing_ratio"] == "R0 400000 ohms, the highest of 24 hourly medians"
    assert derived.notes["oxidising_ratio"] == "R0 20000 ohms, the lowest of 24 hourly medians"
    # Clean air reads 1.
    clean = gas.derive(ohms(20_000, 400_000, 160_000), START + MIN_HOURS * HOUR + 60)
    assert clean.values == {"oxidising_ratio": 1.0, "reducing_ratio": 1.0, "nh3_ratio": 1.0}


def test_a_short_spike_does_not_move_the_baseline(tmp_path):
    gas = baseline(tmp_path)

    def with_spikes(hour: int) -> dict[str, float]:
        return clean_hour_every_day(hour)

    feed_hours(gas, 0, MIN_HOURS, with_spikes)
    # Two reads of a wild value in an otherwise ordinary hour: the median keeps it out.
    at = START + MIN_HOURS * HOUR
    for minute, value in enumerate((9e6, 9e6, 250_000, 250_000, 250_000, 250_000)):
        gas.derive(ohms(26_000, value, 120_000), at + minute * 600)
    assert gas.baseline("reducing") is not None
    gas.derive(ohms(26_000, 250_000, 120_000), at + HOUR)
    assert gas.baseline("reducing") == 400_000


def test_the_baseline_follows_drift_as_old_days_leave_the_window(tmp_path):
    gas = baseline(tmp_path, days=2)
    feed_hours(gas, 0, 48, clean_hour_every_day)
    assert gas.baseline("reducing") == 400_000
    # The element ages: clean air now reads 300 kOhm. Two days later the old
    # clean hours have left the window.
    feed_hours(gas, 48, 48, lambda hour: ohms(20_000, 300_000 if hour % 24 == 7 else 250_000, 160_000))
    gas.derive(ohms(20_000, 300_000, 160_000), START + 96 * HOUR)
    assert gas.baseline("reducing") == 300_000


def test_an_hour_with_too_few_reads_gives_no_median(tmp_path):
    gas = baseline(tmp_path)
    gas.derive(ohms(20_000, 400_000, 160_000), START)
    gas.derive(ohms(20_000, 400_000, 160_000), START + HOUR)  # the first hour had one read
    derived = gas.derive(ohms(20_000, 400_000, 160_000), START + HOUR + 1)
    assert "learning the clean-air baseline: 0 of" in derived.notes["nh3_ratio"]


def test_what_was_learned_survives_a_restart(tmp_path):
    gas = baseline(tmp_path)
    feed_hours(gas, 0, MIN_HOURS, clean_hour_every_day)
    gas.close()
    saved = json.loads((tmp_path / FILE).read_text())
    assert saved["version"] == 1
    assert len(saved["medians"]["reducing"]) == MIN_HOURS - 1  # the last hour is still open
    again = baseline(tmp_path)
    derived = again.derive(ohms(20_000, 200_000, 160_000), START + MIN_HOURS * HOUR)
    assert "learning" in derived.notes["reducing_ratio"]  # 23 of 24: one more hour
    feed_hours(again, MIN_HOURS, 2, clean_hour_every_day)
    assert again.baseline("reducing") == 400_000


def test_the_file_is_written_when_an_hour_ends_not_on_every_read(tmp_path):
    gas = baseline(tmp_path)
    path = tmp_path / FILE
    for minute in range(59):
        gas.derive(ohms(20_000, 400_000, 160_000), START + minute * 60)
    assert not path.exists()
    gas.derive(ohms(20_000, 400_000, 160_000), START + HOUR)
    first = path.stat().st_mtime_ns, path.read_text()
    assert len(json.loads(first[1])["medians"]["nh3"]) == 1
    for minute in range(1, 59):
        gas.derive(ohms(20_000, 400_000, 160_000), START + HOUR + minute * 60)
    assert path.read_text() == first[1]
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed over it


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe",
        b'{"version": 1, "medians": {"nh3": [[1, "x"]]}}',
        b'{"version": 1}',
        b'{"version": 1, "medians": {"nh3": [[1, -5]]}}',
        b"[]",
        b'{"version": 99, "medians": {}}',
    ],
)
def test_a_corrupt_file_is_one_log_line_and_a_fresh_start(tmp_path, caplog, content):
    (tmp_path / FILE).write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="enviro_sensor.sensors.saved_state"):
        gas = baseline(tmp_path)
    assert len(caplog.records) == 1
    assert "starting afresh" in caplog.records[0].getMessage()
    derived = gas.derive(ohms(20_000, 400_000, 160_000), START)
    assert "0 of 24" in derived.notes["nh3_ratio"]
    gas.close()
    assert json.loads((tmp_path / FILE).read_text())["version"] == 1


def test_without_a_data_dir_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({}, overrides={"lcd": "off"})
    assert settings.data_dir is None
    gas = from_options(_mics6814(), settings.of(SETTINGS), None)  # type: ignore[arg-type]
    feed_hours(gas, 0, 3, clean_hour_every_day)
    gas.close()
    assert list(tmp_path.iterdir()) == []


def _mics6814():
    from enviro_sensor.sensors.config import configured_sensors

    return next(s for s in configured_sensors(()) if s.name == "mics6814")


def test_the_ratios_through_the_app_on_the_virtual_board(tmp_path):
    """The real ADS1015 driver on the virtual board, polled every 10 minutes for a day."""
    polled = PolledApp(gas_interval=600.0, data_dir=str(tmp_path))
    try:
        polled.poll("gas")
        body = polled.client.get("/api/sensors/gas").get_json()["result"]["sensors"]["mics6814"]
        assert "oxidising_ratio" not in body["values"]
        assert body["notes"]["oxidising_ratio"].startswith("learning the clean-air baseline: 0 of 24")
        assert not any(s.name == "enviro_gas_resistance_ratio" for s in polled.metric_samples())
        for _ in range(6 * 25):
            polled.clock.advance(600 - 0.2)
            polled.poll("gas")
        body = polled.client.get("/api/sensors/gas").get_json()["result"]["sensors"]["mics6814"]
        values = body["values"]
        for channel in CHANNELS:
            ratio = values[f"{channel}_ratio"]
            # The model's room: cooking lowers reducing and NH3 and raises
            # oxidising; the cleanest hour of the day is the baseline.
            assert 0.2 < ratio < 1.2, (channel, ratio)
            r0 = float(body["notes"][f"{channel}_ratio"].split()[1])
            assert values[f"{channel}_ohms"] / r0 == pytest.approx(ratio, abs=1e-3)
        samples = {
            s.labels["channel"]: s.value
            for s in polled.metric_samples()
            if s.name == "enviro_gas_resistance_ratio"
        }
        assert samples == {channel: values[f"{channel}_ratio"] for channel in CHANNELS}
    finally:
        polled.close()
    # Kept across a restart: the next app has ratios from its first reading.
    saved = json.loads((tmp_path / FILE).read_text())
    assert len(saved["medians"]["nh3"]) >= 24
    again = PolledApp(gas_interval=600.0, data_dir=str(tmp_path))
    try:
        again.clock.advance(25 * HOUR + 60)
        again.poll("gas")
        values = again.client.get("/api/sensors/gas").get_json()["result"]["sensors"]["mics6814"]["values"]
        assert set(values) >= {f"{channel}_ratio" for channel in CHANNELS}
    finally:
        again.close()


def test_a_failing_derivation_costs_its_values_not_the_reading(monkeypatch, caplog):
    def broken(self, values, at):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(GasBaseline, "derive", broken)
    polled = PolledApp()
    try:
        with caplog.at_level(logging.ERROR, logger="collector"):
            polled.poll("gas")
            polled.poll("gas")
        body = polled.client.get("/api/sensors/gas").get_json()["result"]["sensors"]["mics6814"]
        assert body["status"] == "ok"
        assert set(body["values"]) == {"oxidising_ohms", "reducing_ohms", "nh3_ohms"}
        assert [r.getMessage() for r in caplog.records] == [
            "mics6814: deriving values failed (the reading goes out without them)"
        ]
    finally:
        polled.close()
