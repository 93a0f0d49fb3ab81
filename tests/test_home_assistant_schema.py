"""Every discovery payload the service announces, checked by Home Assistant's own released code.

The payloads are taken from a real mosquitto (a board with every sensor
kind, and a remote node that has sent a packet) and handed to the MQTT
sensor platform's discovery schema and the sensor unit tables of the pinned
release (tests/home_assistant). No table of units is written here.
"""

from __future__ import annotations

import json

import pytest

from enviro_sensor.nodes import protocol
from enviro_sensor.outputs.mqtt import node_id
from enviro_sensor.sensors import registry
from tests.home_assistant import HOME_ASSISTANT_VERSION, units, validate
from tests.mosquitto import Subscriber, needs_mosquitto, running_broker, wait_for
from tests.node_support import doc_devices, kitchen_packet
from tests.sensor_support import PolledApp

# Each test starts a real program (a server, mount, or the service's command).
pytestmark = pytest.mark.e2e

NODE = node_id()
EVERY_KIND = "aht10@0x38,bmp280@0x77:3,scd41@0x62,sgp40@0x59,bme680@0x77"


def announced(tmp_path) -> dict[str, dict]:
    """What a board with every kind and one remote node leaves retained on the broker."""
    packet = kitchen_packet()
    with running_broker(tmp_path) as broker:
        polled = PolledApp(
            environ={"ENVIRO_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}", "ENVIRO_I2C_SENSORS": EVERY_KIND},
            nodes_file=doc_devices(),
        )
        try:
            wait_for(
                lambda: polled.client.get("/api/outputs").get_json()["result"]["outputs"]["mqtt"][
                    "connected"
                ],
                15,
                "the MQTT output connecting",
            )
            assert (
                protocol.decode_answer(polled.service.nodes.receive(packet)).code is protocol.Code.ACCEPTED
            )  # no data directory
            polled.settle()
            heard = Subscriber(broker, f"homeassistant/sensor/{NODE}/+/config")
            # Retained messages come one by one: wait for all that are checked.
            wanted = expected_topics()
            wait_for(lambda: wanted <= set(heard.snapshot()), what="every config")
            found = {topic: json.loads(text) for topic, text in heard.snapshot().items() if text}
            heard.close()
            return found
        finally:
            polled.close()


def expected_topics() -> set[str]:
    """Every kind's fields, a status, and the remote node's entities."""
    kinds = {kind for kind in registry.kinds() if kind != "scd40"}  # scd40 and scd41 are one chip family
    fields = {f"{kind}_{field.key}" for kind in kinds for field in registry.kinds()[kind].fields}
    objects = fields | {"bme280_status", "kitchen_battery_voltage_volts", "kitchen_last_contact"}
    return {f"homeassistant/sensor/{NODE}/{name}/config" for name in objects}


@needs_mosquitto
def test_every_payload_passes_home_assistants_discovery_schema_and_unit_tables(tmp_path):
    payloads = announced(tmp_path)
    missing = expected_topics() - set(payloads)
    assert not missing, sorted(missing)
    problems = {topic: found for topic, found in validate(payloads).items() if found}
    assert problems == {}, f"Home Assistant {HOME_ASSISTANT_VERSION} objects"


def test_the_check_itself_finds_what_home_assistant_refuses():
    # Each is something the service once sent or nearly sent: the check must see it.
    good = {
        "name": "PM2.5",
        "state_topic": "enviro/pi/pms5003/state",
        "device_class": "pm25",
        "unit_of_measurement": "µg/m³",
        "state_class": "measurement",
        "default_entity_id": "sensor.pi_pms5003_pm2_5",
    }
    payloads = {
        "good": good,
        "ascii unit": {**good, "unit_of_measurement": "ug/m3"},
        "enum with statistics": {
            **good,
            "device_class": "enum",
            "options": ["Good", "Moderate"],
            "unit_of_measurement": None,
        },
        "a typo": {**good, "suggested_display_precison": 0},
        "a broken template": {**good, "value_template": "{{ value_json.pm2_5 "},
        "a category HA lacks": {**good, "entity_category": "diagnostics"},
        "bad url": {**good, "device": {"identifiers": ["x"], "configuration_url": "not a url"}},
    }
    found = validate(payloads)
    assert found["good"] == []
    assert all(found[name] for name in payloads if name != "good"), found


def test_units_are_spelled_as_the_pinned_release_spells_them():
    # µg/m³: the micro sign (U+00B5) in 2025.4; later releases may move to
    # the Greek mu, and this is where the change would show.
    theirs = units("CONCENTRATION_MICROGRAMS_PER_CUBIC_METER", "LIGHT_LUX", "PERCENTAGE")
    fields = {f.key: f for kind in registry.kinds().values() for f in kind.fields}
    assert (
        fields["pm2_5_micrograms_per_cubic_meter"].unit == theirs["CONCENTRATION_MICROGRAMS_PER_CUBIC_METER"]
    )
    assert fields["illuminance_lux"].unit == theirs["LIGHT_LUX"]
    assert fields["humidity_percent"].unit == theirs["PERCENTAGE"]
