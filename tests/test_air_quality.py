"""The PMS5003's air quality index: hourly averages, NowCast and AQI, in JSON, metrics and discovery."""

from __future__ import annotations

import json
import logging

from enviro_sensor.outputs.mqtt import discovery_config
from enviro_sensor.sensors import aqi
from enviro_sensor.sensors.air_quality import HOUR, AirQualityIndex
from enviro_sensor.sensors.saved_state import SavedState
from tests.sensor_support import PolledApp

START = 1_700_000_000.0 - 1_700_000_000.0 % HOUR  # the top of an hour
FILE = "air-quality-pms5003.json"


def index(tmp_path) -> AirQualityIndex:
    return AirQualityIndex(SavedState(tmp_path, FILE, 600))


def pm(pm2_5: float, pm10: float) -> dict[str, float]:
    return {
        "pm2_5_atmospheric_micrograms_per_cubic_meter": pm2_5,
        "pm10_atmospheric_micrograms_per_cubic_meter": pm10,
    }


def feed_hour(air: AirQualityIndex, hour: int, pm2_5: float, pm10: float, minutes=range(0, 60, 5)):
    for minute in minutes:
        air.derive(pm(pm2_5, pm10), START + hour * HOUR + minute * 60)


def test_no_index_until_two_full_hours_have_averages(tmp_path):
    air = index(tmp_path)
    feed_hour(air, 0, 10.0, 20.0)
    derived = air.derive(pm(10.0, 20.0), START + HOUR)  # hour 0 done: one of the last three
    assert derived.values == {}
    assert derived.notes["air_quality_index"] == (
        "the NowCast needs hourly averages for 2 of the last 3 full clock hours; there is 1"
    )
    feed_hour(air, 1, 10.0, 20.0)
    derived = air.derive(pm(10.0, 20.0), START + 2 * HOUR)
    # NowCast 10.0 -> (100-51)/(35.4-9.1)*(10.0-9.1)+51 = 52.7 -> 53; PM10 20 -> 50/54*20 = 18.5 -> 19
    assert derived.values == {
        "air_quality_index_pm2_5": 53,
        "air_quality_index_pm10": 19,
        "air_quality_index": 53,
        "air_quality_category": 2,
    }
    assert derived.notes["air_quality_category"] == "Moderate"
    assert derived.notes["air_quality_index"] == "US EPA AQI (NowCast), set by PM2.5"
    assert (
        derived.notes["air_quality_index_pm2_5"] == "NowCast 10.0 µg/m³ from 2 hourly averages, weight 1.00"
    )


def test_the_hours_average_is_the_mean_of_its_readings_and_the_index_follows_the_nowcast(tmp_path):
    air = index(tmp_path)
    # Twelve hours, each a mean of readings; the last three rise with cooking smoke.
    hourly = [8.0] * 9 + [20.0, 40.0, 80.0]  # oldest first
    for hour, level in enumerate(hourly):
        for minute in range(0, 60, 5):
            # Readings alternate around the level: the hour's mean is the level.
            air.derive(pm(level + (1 if minute % 10 else -1), 15.0), START + hour * HOUR + minute * 60)
    derived = air.derive(pm(8.0, 15.0), START + 12 * HOUR)
    expected = aqi.nowcast(list(reversed(hourly)))
    assert expected is not None
    assert expected.weight == 0.5
    assert derived.values["air_quality_index_pm2_5"] == aqi.index(expected.concentration, aqi.PM2_5)
    # 80, 40, 20, 8...: sum(0.5^i c_i) / sum(0.5^i) = 53.59 -> 53.5 -> (150-101)/(55.4-35.5)*(53.5-35.5)+101
    assert aqi.truncate(expected.concentration, 1) == 53.5
    assert derived.values["air_quality_index"] == 145
    assert derived.notes["air_quality_category"] == "Unhealthy for Sensitive Groups"


def test_the_pollutant_with_the_higher_sub_index_sets_the_aqi(tmp_path):
    air = index(tmp_path)
    for hour in range(3):
        feed_hour(air, hour, 5.0, 200.0)  # coarse dust: PM10 200 -> 123
    derived = air.derive(pm(5.0, 200.0), START + 3 * HOUR)
    assert derived.values["air_quality_index_pm10"] == 123
    assert derived.values["air_quality_index_pm2_5"] == 28
    assert derived.values["air_quality_index"] == 123
    assert derived.notes["air_quality_index"].endswith("set by PM10")
    assert derived.values["air_quality_category"] == 3


def test_an_hour_with_readings_in_fewer_than_three_quarters_does_not_count(tmp_path):
    air = index(tmp_path)
    feed_hour(air, 0, 10.0, 10.0)
    feed_hour(air, 1, 10.0, 10.0, minutes=range(0, 30, 5))  # half an hour: two quarters
    derived = air.derive(pm(10.0, 10.0), START + 2 * HOUR)
    assert derived.values == {}
    assert derived.notes["air_quality_index"].endswith("there is 1")
    # Three quarters are enough, with a reading every 5 minutes or one per quarter.
    feed_hour(air, 2, 10.0, 10.0, minutes=(1, 16, 50))
    derived = air.derive(pm(10.0, 10.0), START + 3 * HOUR)
    assert derived.values["air_quality_index"] == 53


def test_missing_hours_are_left_out_and_two_of_three_recent_hours_are_needed(tmp_path):
    air = index(tmp_path)
    feed_hour(air, 0, 10.0, 10.0)
    feed_hour(air, 1, 10.0, 10.0)
    # Off for two hours (a restart, a paused group): hours 2 and 3 have no average.
    derived = air.derive(pm(30.0, 10.0), START + 4 * HOUR + 60)
    assert derived.values == {}
    assert derived.notes["air_quality_index"].endswith("there is 1")  # hours 3, 2, 1: only 1
    feed_hour(air, 4, 30.0, 10.0)
    derived = air.derive(pm(30.0, 10.0), START + 5 * HOUR)
    assert derived.values == {}  # hour 4 alone of 4, 3, 2
    feed_hour(air, 5, 30.0, 10.0)
    derived = air.derive(pm(10.0, 10.0), START + 6 * HOUR)
    # Hours 5, 4 (30) and 1, 0 (10), ages 0, 1, 4, 5: w = 10/30 -> 0.5.
    expected = (30 + 30 * 0.5 + 10 * 0.5**4 + 10 * 0.5**5) / (1 + 0.5 + 0.5**4 + 0.5**5)
    assert derived.notes["air_quality_index_pm2_5"].startswith(
        f"NowCast {aqi.truncate(expected, 1):.1f} µg/m³"
    )
    assert derived.values["air_quality_index_pm2_5"] == aqi.index(expected, aqi.PM2_5)


def test_the_index_changes_at_the_top_of_the_hour_only(tmp_path):
    air = index(tmp_path)
    feed_hour(air, 0, 5.0, 5.0)
    feed_hour(air, 1, 5.0, 5.0)
    first = air.derive(pm(5.0, 5.0), START + 2 * HOUR)
    # Smoke now: the index is the last full hours', until this hour is over.
    later = air.derive(pm(300.0, 300.0), START + 2 * HOUR + 1800)
    assert later.values == first.values
    feed_hour(air, 2, 300.0, 300.0, minutes=range(31, 60, 5))  # quarters 2 and 3 only, plus the two above
    after = air.derive(pm(300.0, 300.0), START + 3 * HOUR)
    assert after.values["air_quality_index"] > first.values["air_quality_index"]


def test_the_hours_survive_a_restart_and_a_bad_file_starts_afresh(tmp_path, caplog):
    air = index(tmp_path)
    feed_hour(air, 0, 10.0, 10.0)
    feed_hour(air, 1, 10.0, 10.0)
    air.derive(pm(10.0, 10.0), START + 2 * HOUR)
    air.close()
    saved = json.loads((tmp_path / FILE).read_text())
    assert saved["averages"]["pm2.5"] == [[round(START / HOUR), 10.0], [round(START / HOUR) + 1, 10.0]]
    again = index(tmp_path)
    assert again.derive(pm(10.0, 10.0), START + 2 * HOUR + 60).values["air_quality_index"] == 53
    (tmp_path / FILE).write_text('{"version": 1, "averages": {"pm10": [[1, "nan"]]}}')
    with caplog.at_level(logging.WARNING, logger="enviro_sensor.sensors.saved_state"):
        fresh = index(tmp_path)
    assert len(caplog.records) == 1
    assert fresh.derive(pm(10.0, 10.0), START + 2 * HOUR).values == {}


def test_home_assistant_gets_the_aqi_as_a_unitless_aqi_sensor():
    polled = PolledApp()
    try:
        sensor = polled.service.latest.sensors()["pms5003"]
        field = next(f for f in sensor.fields if f.key == "air_quality_index")
        topic, config = discovery_config(sensor, field, "pi", "enviro", 5.0)
        assert topic == "homeassistant/sensor/pi/pms5003_air_quality_index/config"
        assert config["device_class"] == "aqi"
        assert "unit_of_measurement" not in config
        assert config["state_class"] == "measurement"
        assert config["value_template"] == "{{ value_json.get('air_quality_index') }}"
    finally:
        polled.close()


def test_home_assistant_gets_the_category_as_an_enum_of_its_names():
    import jinja2.sandbox

    polled = PolledApp()
    try:
        sensor = polled.service.latest.sensors()["pms5003"]
        field = next(f for f in sensor.fields if f.key == "air_quality_category")
        _, config = discovery_config(sensor, field, "pi", "enviro", 5.0)
    finally:
        polled.close()
    # Home Assistant keeps mean/min/max statistics of a measurement: none of a category.
    assert config["device_class"] == "enum" and "state_class" not in config
    assert config["options"] == list(aqi.CATEGORIES)
    # Home Assistant's templates are Jinja's: its sandbox renders the state as HA would.
    template = jinja2.sandbox.ImmutableSandboxedEnvironment().from_string(config["value_template"])
    assert template.render(value_json={"air_quality_category": 3}) == "Unhealthy for Sensitive Groups"
    assert template.render(value_json={"air_quality_category": 1.0}) == "Good"
    assert template.render(value_json={}) == "None"  # absent until two hours have averages: unknown


def test_the_aqi_through_the_app_as_the_virtual_pms5003_is_read_for_hours(tmp_path):
    """The real pms5003 driver on the virtual board, read every 5 minutes for 14 hours."""
    polled = PolledApp(particulates_interval=300.0, data_dir=str(tmp_path))
    try:
        polled.poll("particulates")
        reply = polled.client.get("/api/sensors/particulates")
        body = reply.get_json()["result"]["sensors"]["pms5003"]
        assert "air_quality_index" not in body["values"]
        assert body["notes"]["air_quality_index"].startswith("the NowCast needs hourly averages")
        pm2_5_by_hour: dict[int, list[float]] = {}
        for _ in range(12 * 14):
            polled.clock.advance(300 - 0.2)
            polled.poll("particulates")
            view = polled.service.latest.view("pms5003")
            assert view.values is not None
            hour = int(view.wall_time // HOUR)
            value = view.values["pm2_5_atmospheric_micrograms_per_cubic_meter"]
            pm2_5_by_hour.setdefault(hour, []).append(value)
        body = polled.client.get("/api/sensors/particulates").get_json()["result"]["sensors"]["pms5003"]
        values = body["values"]
        # The same figures from the readings the app published, by the EPA's method.
        current = int(polled.service.latest.view("pms5003").wall_time // HOUR)
        hourly = [
            sum(pm2_5_by_hour[h]) / len(pm2_5_by_hour[h]) if h in pm2_5_by_hour else None
            for h in range(current - 1, current - 13, -1)
        ]
        cast = aqi.nowcast(hourly)
        assert cast is not None
        assert values["air_quality_index_pm2_5"] == aqi.index(cast.concentration, aqi.PM2_5)
        assert values["air_quality_index"] == max(
            values["air_quality_index_pm2_5"], values["air_quality_index_pm10"]
        )
        assert body["notes"]["air_quality_category"] == aqi.category_name(int(values["air_quality_index"]))
        assert values["air_quality_category"] == aqi.category(int(values["air_quality_index"]))
        samples = polled.metric_samples()
        overall = [s for s in samples if s.name == "enviro_air_quality_index"]
        assert [(s.labels, s.value) for s in overall] == [
            ({"sensor": "pms5003"}, values["air_quality_index"])
        ]
        subs = {s.labels["pollutant"]: s.value for s in samples if s.name == "enviro_air_quality_subindex"}
        assert subs == {"pm2.5": values["air_quality_index_pm2_5"], "pm10": values["air_quality_index_pm10"]}
        assert any(s.name == "enviro_air_quality_category" for s in samples)
    finally:
        polled.close()
    assert json.loads((tmp_path / FILE).read_text())["version"] == 1


def test_the_openapi_spec_documents_the_aqi_and_the_notes():
    polled = PolledApp()
    try:
        spec = polled.client.get("/apispec.json").get_json()
        schema = spec["components"]["schemas"]["Pms5003Values"]
        assert schema["properties"]["air_quality_index"]["maximum"] == 2000
        assert "enviro_air_quality_index" in schema["properties"]["air_quality_index"]["description"]
        assert "air_quality_index" not in schema.get("required", [])
        notes = spec["components"]["schemas"]["Pms5003Sensor"]["properties"]["notes"]
        assert set(notes["properties"]) == {
            "air_quality_index",
            "air_quality_index_pm2_5",
            "air_quality_index_pm10",
            "air_quality_category",
        }
    finally:
        polled.close()
