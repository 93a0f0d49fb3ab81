"""ENVIRO_CALIBRATION and ENVIRO_ROOM_REFERENCE: applied by the collector before validation."""

from __future__ import annotations

import pytest

from enviro_sensor.sensors.calibration import Adjustment, calibrate, parse_adjustment, parse_calibration
from enviro_sensor.settings import SettingsError, load_settings
from tests.openapi_support import SpecChecker
from tests.sensor_support import PolledApp


@pytest.mark.parametrize(
    ("text", "adjustment"),
    [
        ("-1.5", Adjustment(1.0, -1.5)),
        ("+0.25", Adjustment(1.0, 0.25)),
        ("*1.02", Adjustment(1.02, 0.0)),
        ("*1.02+0.5", Adjustment(1.02, 0.5)),
        ("*0.98-1", Adjustment(0.98, -1.0)),
    ],
)
def test_adjustments(text, adjustment):
    assert parse_adjustment(text) == adjustment


def test_the_issue_example_parses_and_applies():
    calibration = parse_calibration("bme280.temperature_celsius=-1.5,aht10.humidity_percent=*1.02+0.5")
    assert calibration == {
        "bme280": {"temperature_celsius": Adjustment(1.0, -1.5)},
        "aht10": {"humidity_percent": Adjustment(1.02, 0.5)},
    }
    values, done = calibrate({"humidity_percent": 50.0, "temperature_celsius": 20.0}, calibration["aht10"])
    assert values == {"humidity_percent": pytest.approx(51.5), "temperature_celsius": 20.0}
    assert done == ("humidity_percent",)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("bme280.temperature_celsius=1.5", "ENVIRO_CALIBRATION: bad adjustment '1.5' (write it like -1.5"),
        ("bme280.temperature_celsius=*-2", "ENVIRO_CALIBRATION: bad adjustment '*-2'"),
        ("bme280.temperature_celsius", "ENVIRO_CALIBRATION: expected sensor.field=adjustment"),
        ("bme280=-1", "ENVIRO_CALIBRATION: expected sensor.field=adjustment"),
        (
            "bme280.temperature_celsius=-1,bme280.temperature_celsius=-2",
            "ENVIRO_CALIBRATION: bme280.temperature_celsius is calibrated twice",
        ),
        ("scd41.co2_ppm=+10", "ENVIRO_CALIBRATION: no sensor named 'scd41' (configured: aht10, bme280,"),
        (
            "bme280.co2_ppm=+10",
            "ENVIRO_CALIBRATION: bme280 has no field 'co2_ppm' (it has: temperature_celsius",
        ),
    ],
)
def test_a_bad_calibration_stops_start_up_naming_the_setting(value, message):
    with pytest.raises(SettingsError) as caught:
        load_settings({"ENVIRO_CALIBRATION": value})
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_calibration_may_name_a_listed_sensor():
    settings = load_settings(
        {"ENVIRO_I2C_SENSORS": "scd41@0x62", "ENVIRO_CALIBRATION": "scd41.co2_ppm=*0.97"}
    )
    assert settings.calibration["scd41"]["co2_ppm"] == Adjustment(0.97, 0.0)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("sht99", "ENVIRO_ROOM_REFERENCE: no sensor named 'sht99'"),
        (
            "bmp280",
            "ENVIRO_ROOM_REFERENCE: bmp280 cannot be the room reference: it needs temperature and humidity, "
            "and it measures no humidity_percent$",
        ),
        # The BME280 has both: the reason is that it is the sensor being compensated.
        (
            "bme280",
            "ENVIRO_ROOM_REFERENCE: bme280 cannot be the room reference: it is the sensor whose room values "
            r"the reference gives; name one away from the CPU's heat \(e.g. aht10\)$",
        ),
    ],
)
def test_a_bad_room_reference_stops_start_up(value, message):
    with pytest.raises(SettingsError, match=message):
        load_settings({"ENVIRO_ROOM_REFERENCE": value})


@pytest.fixture
def pair():
    """The same board and clock twice: one app calibrated, one not."""
    environ = {"ENVIRO_I2C_SENSORS": "aht10@0x38,bmp280@0x77"}
    plain = PolledApp(environ=environ)
    calibrated = PolledApp(
        environ={
            **environ,
            "ENVIRO_CALIBRATION": "aht10.humidity_percent=*1.02+0.5,bmp280.temperature_celsius=-1.5",
        }
    )
    yield plain, calibrated
    plain.close()
    calibrated.close()


def test_calibrated_values_are_published_and_marked(pair):
    plain, calibrated = pair
    plain.poll("i2c")
    calibrated.poll("i2c")
    raw = plain.client.get("/api/sensors/i2c").get_json()["result"]["sensors"]
    body = calibrated.client.get("/api/sensors/i2c").get_json()["result"]["sensors"]
    assert body["aht10"]["values"]["humidity_percent"] == pytest.approx(
        raw["aht10"]["values"]["humidity_percent"] * 1.02 + 0.5, abs=0.02
    )
    assert body["aht10"]["values"]["temperature_celsius"] == raw["aht10"]["values"]["temperature_celsius"]
    assert body["bmp280"]["values"]["temperature_celsius"] == pytest.approx(
        raw["bmp280"]["values"]["temperature_celsius"] - 1.5, abs=0.011
    )
    assert body["aht10"]["calibrated"] == ["humidity_percent"]
    assert body["bmp280"]["calibrated"] == ["temperature_celsius"]
    assert "calibrated" not in raw["aht10"]
    samples = {(s.name, s.labels.get("sensor")): s.value for s in calibrated.metric_samples()}
    humidity = body["aht10"]["values"]["humidity_percent"]
    assert samples[("enviro_humidity_ratio", "aht10")] == pytest.approx(humidity / 100)
    spec = calibrated.client.get("/apispec.json").get_json()
    reply = calibrated.client.get("/api/sensors/i2c/aht10")
    SpecChecker(spec).check_answer(
        "GET", "/api/sensors/i2c/{name}", reply.status_code, reply.mimetype, reply.get_json()
    )


def test_a_calibration_past_the_datasheet_range_is_rejected():
    polled = PolledApp(environ={"ENVIRO_CALIBRATION": "aht10.humidity_percent=+150"})
    try:
        polled.poll("i2c")
        text = polled.client.get("/metrics").get_data(as_text=True)
        assert (
            'enviro_readings_rejected_total{field="humidity_percent",reason="out_of_range",sensor="aht10"} 1.0'
            in text
        )
    finally:
        polled.close()


def test_the_room_reference_gives_the_bme280_its_room_values():
    polled = PolledApp(environ={"ENVIRO_ROOM_REFERENCE": "aht10"})
    try:
        polled.poll("weather")
        weather = polled.client.get("/api/sensors/weather/bme280").get_json()["result"]["values"]
        # No reference reading yet: no room values, rather than a CPU estimate.
        assert "temperature_compensated_celsius" not in weather
        assert "humidity_compensated_percent" not in weather
        polled.poll("i2c")
        polled.poll("weather")
        aht10 = polled.client.get("/api/sensors/i2c/aht10").get_json()["result"]["values"]
        weather = polled.client.get("/api/sensors/weather/bme280").get_json()["result"]["values"]
        assert weather["temperature_compensated_celsius"] == aht10["temperature_celsius"]
        assert weather["humidity_compensated_percent"] == aht10["humidity_percent"]
        room = polled.board.environment.conditions()
        assert weather["temperature_compensated_celsius"] == pytest.approx(
            room.room_temperature_celsius, abs=0.05
        )
        # The raw BME280 still reads the Pi's heat.
        assert weather["temperature_celsius"] > weather["temperature_compensated_celsius"] + 3
        # A reference gone stale takes the room values with it.
        polled.board.faults.set("aht10", "absent")
        for _ in range(8):
            polled.clock.advance(1.0)
            polled.poll("i2c", "weather")
        weather = polled.client.get("/api/sensors/weather/bme280").get_json()["result"]["values"]
        assert "temperature_compensated_celsius" not in weather
    finally:
        polled.close()
