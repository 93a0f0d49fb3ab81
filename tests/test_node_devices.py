"""The devices file (ENVIRO_NODES_FILE): what it accepts, and one line naming what is wrong."""

from __future__ import annotations

import pytest

from enviro_sensor.nodes.devices import parse_devices
from enviro_sensor.settings import SettingsError, load_settings
from tests.node_support import doc_blocks

KEY = "00" * 16
GOOD = f"""
[[device]]
id = 7
name = "attic"
key = "{KEY}"
measurements = ["aht10.temperature_celsius", "battery.voltage_volts"]
"""


def test_the_documented_file_is_valid(tmp_path):
    path = tmp_path / "nodes.toml"
    path.write_text(doc_blocks("toml")[0])
    (device,) = load_settings({"ENVIRO_NODES_FILE": str(path)}).nodes_file
    assert (device.id, device.name, device.location) == (1001, "kitchen", "Kitchen, on the fridge")
    assert [m.label for m in device.measurements] == [
        "bme280.temperature_celsius",
        "bme280.humidity_percent",
        "bme280.pressure_hectopascals",
    ]
    assert device.measurements[0].field.high == 85.0  # the BME280's own declaration


def test_no_file_no_nodes():
    settings = load_settings({})
    assert (settings.nodes_file, settings.nodes_port, settings.virtual_nodes) == ((), None, 0)


def test_a_key_may_be_base64_and_the_location_left_out():
    (device,) = parse_devices(GOOD.replace(f'key = "{KEY}"', 'key_base64 = "AAAAAAAAAAAAAAAAAAAAAA=="'))
    assert device.key == bytes(16)
    assert device.location == ""
    assert device.sensors().keys() == {"aht10", "battery"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[device]\n", "not valid TOML"),
        ("[other]\nx = 1\n", "unknown table(s) other"),
        (GOOD.replace("id = 7", "id = 0"), "device 1: id must be a whole number"),
        (GOOD.replace("id = 7", 'id = "7"'), "device 1: id must be a whole number"),
        (GOOD.replace('name = "attic"', 'name = "Attic Room"'), "device 7: name must be"),
        (GOOD.replace(f'key = "{KEY}"', 'key = "abc"'), "device 7: the key is not valid hex or base64"),
        (GOOD.replace(f'key = "{KEY}"', 'key = "0011"'), "device 7: a key has 16 to 64 bytes, got 2"),
        (GOOD.replace(f'key = "{KEY}"', ""), "device 7: give the key as either key (hex) or key_base64"),
        (GOOD.replace("aht10.temperature_celsius", "aht10.temp"), "device 7: aht10 has no field 'temp'"),
        (GOOD.replace("aht10.temperature_celsius", "sht31.temperature_celsius"), "device 7: unknown kind 'sht31'"),
        (GOOD.replace("aht10.temperature_celsius", "temperature"), "written kind.field"),
        (GOOD.replace('"battery.voltage_volts"', '"aht10.temperature_celsius"'), "listed twice"),
        (GOOD + "colour = 1\n", "device 7: unknown key(s) colour"),
        (GOOD + GOOD, "two devices share the id 7"),
        (GOOD + GOOD.replace("id = 7", "id = 8"), "two devices share the name attic"),
    ],
)  # fmt: skip
def test_a_bad_file_stops_start_up_with_one_line(tmp_path, text, message):
    path = tmp_path / "nodes.toml"
    path.write_text(text)
    with pytest.raises(SettingsError) as error:
        load_settings({"ENVIRO_NODES_FILE": str(path)})
    assert str(error.value).startswith("ENVIRO_NODES_FILE: ")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(SettingsError, match=r"ENVIRO_NODES_FILE: cannot read .*missing.toml"):
        load_settings({"ENVIRO_NODES_FILE": str(tmp_path / "missing.toml")})


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [("ENVIRO_NODES_PORT", "70000", "from 1 to 65535"), ("ENVIRO_VIRTUAL_NODES", "-1", "from 0 to 2000")],
)
def test_bad_node_settings_name_the_variable(variable, value, message):
    with pytest.raises(SettingsError, match=f"{variable}: .*{message}"):
        load_settings({variable: value})
