"""Settings come from ENVIRO_* variables; bad values name the variable."""

import subprocess
import sys
from pathlib import Path

import pytest

from enviro_sensor.cli.settings_table import markdown_table
from enviro_sensor.settings import SENSORS, SettingsError, all_settings, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_without_environment():
    settings = load_settings({})
    assert settings.host == "0.0.0.0"
    assert settings.port == 8000
    assert settings.board == "auto"
    assert settings.api_token is None


def test_values_are_parsed_from_the_environment():
    settings = load_settings(
        {"ENVIRO_PORT": " 9100 ", "ENVIRO_BOARD": "Virtual", "ENVIRO_WEATHER_INTERVAL": "0.5"}
    )
    assert (settings.port, settings.board, settings.of(SENSORS).intervals["weather"]) == (
        9100,
        "virtual",
        0.5,
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ENVIRO_PORT", "eighty", "ENVIRO_PORT: expected a whole number, got 'eighty'"),
        ("ENVIRO_PORT", "70000", "ENVIRO_PORT: expected a number from 1 to 65535, got 70000"),
        ("ENVIRO_BOARD", "pi", "ENVIRO_BOARD: expected one of auto, real, virtual, got 'pi'"),
        ("ENVIRO_WEATHER_INTERVAL", "nan", "ENVIRO_WEATHER_INTERVAL: expected 0.1 to 3600 seconds, got nan"),
        ("ENVIRO_HOST", "", "ENVIRO_HOST: expected an IP address or host name, got ''"),
        (
            "ENVIRO_MQTT_URL",
            "http://broker:1883",
            "ENVIRO_MQTT_URL: expected mqtt://host[:port] or mqtts://host[:port], got scheme 'http'",
        ),
        (
            "ENVIRO_MQTT_URL",
            "mqtt://broker:http",
            "ENVIRO_MQTT_URL: has a port that is not a number from 1 to 65535",
        ),
        ("ENVIRO_MQTT_URL", "mqtt://user:pass@", "ENVIRO_MQTT_URL: names no host"),
        (
            "ENVIRO_MQTT_PREFIX",
            "home/#",
            "ENVIRO_MQTT_PREFIX: expected a topic such as enviro (no spaces, # or +), got 'home/#'",
        ),
        ("ENVIRO_MQTT_CA", "/nonexistent/ca.crt", "ENVIRO_MQTT_CA: no such file: /nonexistent/ca.crt"),
        ("ENVIRO_EXPORT_DIR", "/etc/hostname", "ENVIRO_EXPORT_DIR: is not a directory: /etc/hostname"),
        (
            "ENVIRO_INFLUX_URL",
            "influx:8086",
            "ENVIRO_INFLUX_URL: expected the server's base URL, e.g. http://host:8086, got 'influx:8086'",
        ),
        (
            "ENVIRO_INFLUX_URL",
            "http://influx:8086",
            "ENVIRO_INFLUX_URL: needs ENVIRO_INFLUX_DB (v1 API) or ENVIRO_INFLUX_ORG and ENVIRO_INFLUX_BUCKET (v2)",
        ),
    ],
)
def test_bad_value_names_the_variable(variable, value, message):
    with pytest.raises(SettingsError) as caught:
        load_settings({variable: value})
    assert str(caught.value) == message


def test_outputs_are_off_until_their_setting_is_given():
    settings = load_settings({})
    assert (settings.mqtt_url, settings.export_dir) == (None, None)
    settings = load_settings(
        {"ENVIRO_MQTT_URL": " mqtts://u:p@broker:8883 ", "ENVIRO_MQTT_PREFIX": "/home/pi/"}
    )
    assert (settings.mqtt_url, settings.mqtt_prefix) == ("mqtts://u:p@broker:8883", "home/pi")


def test_the_readmes_settings_table_is_the_one_the_declarations_make():
    readme = (ROOT / "README.md").read_text()
    begin = readme.index("| variable | default | accepts | meaning |")
    end = readme.index("<!-- end of the settings table -->")
    assert readme[begin:end] == markdown_table(), "run `enviro-sensor settings --markdown` into the README"


def test_the_table_check_would_see_a_setting_missing_from_the_readme():
    # What the test above compares: every declared variable has a row with its default.
    table = markdown_table()
    for setting in all_settings():
        default = f"`{setting.default}`" if setting.default else "(none)"
        assert f"| `{setting.env}` | {default} |" in table


@pytest.mark.e2e
def test_serve_stops_with_one_line_on_a_bad_setting():
    command = Path(sys.executable).with_name("enviro-sensor")
    result = subprocess.run(
        [str(command), "serve"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "ENVIRO_PORT": "http"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "enviro-sensor: ENVIRO_PORT: expected a whole number, got 'http'"
    ]
