"""A new kind of sensor is one module: its declaration and its emulated chip.

``tests/geiger_kind.py`` declares a part no product file knows. Listed in
ENVIRO_I2C_SENSORS, it gets its group's route, its schema in the OpenAPI
spec, its interval setting, its metrics and fault injection, with no other
file touched.
"""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from enviro_sensor.settings import SENSORS, SettingsError, all_settings, load_settings
from tests import geiger_kind
from tests.openapi_support import SpecChecker
from tests.sensor_support import PolledApp


@pytest.fixture
def geiger():
    geiger_kind.register()
    polled = PolledApp(environ={"ENVIRO_I2C_SENSORS": "aht10@0x38,geiger@0x40"})
    yield polled
    polled.close()
    geiger_kind.unregister()


def test_its_route_answers_with_its_readings(geiger):
    answer = geiger.client.get("/api/sensors/radiation")
    assert answer.status_code == 503  # no reading yet, and says why
    assert "geiger: starting" in answer.get_json()["error"]["message"]
    geiger.poll()
    body = geiger.client.get("/api/sensors/radiation").get_json()["result"]
    counts = body["sensors"]["geiger"]["values"]["radiation_counts_per_minute"]
    assert counts == geiger.board.i2c_bus(1)._chips[0x40].counts()
    assert body["sensors"]["geiger"]["description"] == "Test Geiger counter at 0x40"
    one = geiger.client.get("/api/sensors/radiation/geiger").get_json()["result"]
    assert one["values"] == body["sensors"]["geiger"]["values"]
    index = geiger.client.get("/api/sensors").get_json()["result"]["groups"]
    assert index["radiation"]["status"] == "ok"
    assert index["radiation"]["route"] == "/api/sensors/radiation"


def test_its_schema_is_in_the_spec_and_its_answers_fit(geiger):
    spec = geiger.client.get("/apispec.json").get_json()
    values = spec["components"]["schemas"]["GeigerValues"]
    assert values["properties"]["radiation_counts_per_minute"]["maximum"] == 10_000
    assert "/api/sensors/radiation" in spec["paths"]
    assert "/api/sensors/radiation/{name}" in spec["paths"]
    geiger.poll()
    checker = SpecChecker(spec)
    for url, path in (
        ("/api/sensors/radiation", "/api/sensors/radiation"),
        ("/api/sensors/radiation/geiger", "/api/sensors/radiation/{name}"),
    ):
        reply = geiger.client.get(url)
        checker.check_answer("GET", path, reply.status_code, reply.mimetype, reply.get_json())


def test_its_metrics_are_exported(geiger):
    geiger.poll()
    text = geiger.client.get("/metrics").get_data(as_text=True)
    samples = {
        (s.name, s.labels.get("sensor")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    counts = geiger.client.get("/api/sensors/radiation/geiger").get_json()["result"]["values"]
    assert samples[("enviro_radiation_counts_per_minute", "geiger")] == counts["radiation_counts_per_minute"]
    assert samples[("enviro_sensor_up", "geiger")] == 1
    assert "radiation every 1 s" in text  # the HELP text says how often it is sampled


def test_its_faults_are_injected_and_reported(geiger):
    geiger.poll()
    geiger.board.faults.set("geiger", "out-of-range")
    geiger.clock.advance(5)
    geiger.poll("radiation")
    view = geiger.service.latest.view("geiger")
    assert view.status == "stale"
    assert "out_of_range" in view.reason
    geiger.board.faults.set("geiger", "absent")
    geiger.poll("radiation")
    text = geiger.client.get("/metrics").get_data(as_text=True)
    assert 'enviro_sensor_up{sensor="geiger"} 0.0' in text
    assert (
        'enviro_readings_rejected_total{field="radiation_counts_per_minute",reason="out_of_range",sensor="geiger"} 1.0'
        in text
    )
    assert "enviro_radiation_counts_per_minute" not in text  # stale: the series ends
    geiger.board.faults.clear("geiger")
    geiger.poll("radiation")
    assert geiger.service.latest.view("geiger").status == "ok"
    # The other sensors never noticed.
    geiger.poll("i2c")
    assert geiger.client.get("/api/sensors/i2c").get_json()["result"]["status"] == "ok"
    assert 'enviro_sensor_read_errors_total{reason="io_error",sensor="aht10"} 0.0' in text


def test_its_settings_follow_from_the_declaration():
    geiger_kind.register()
    try:
        names = {setting.env for setting in all_settings()}
        assert "ENVIRO_RADIATION_INTERVAL" in names
        settings = load_settings({"ENVIRO_RADIATION_INTERVAL": "30", "ENVIRO_I2C_SENSORS": "geiger@0x41"})
        assert settings.of(SENSORS).intervals["radiation"] == 30.0
        with pytest.raises(
            SettingsError, match="ENVIRO_I2C_SENSORS: geiger@0x76 collides with the board's bme280"
        ):
            load_settings({"ENVIRO_I2C_SENSORS": "geiger@0x76"})
    finally:
        geiger_kind.unregister()
    with pytest.raises(SettingsError, match="unknown sensor kind 'geiger'"):
        load_settings({"ENVIRO_I2C_SENSORS": "geiger@0x40"})
