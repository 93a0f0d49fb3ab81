"""Runs inside Home Assistant's virtualenv: checks MQTT sensor discovery payloads as it would.

Reads ``{topic: payload}`` as JSON on stdin and prints ``{topic: [problems]}``.
A payload goes through what Home Assistant's MQTT discovery applies to a
sensor config: the origin schema, the sensor platform's discovery schema
(device block, availability, templates, options against device class and
state class), then the device class's unit and state-class tables, which
the release only logs about. Keys the schema does not know are reported
too, since it drops them without a word; ``default_entity_id`` is the one
expected (releases from 2025.10 read it, older ones ignore it).
"""

import asyncio
import json
import sys
import tempfile

import voluptuous as vol
from homeassistant.components.mqtt.schemas import MQTT_ORIGIN_INFO_SCHEMA
from homeassistant.components.mqtt.sensor import DISCOVERY_SCHEMA
from homeassistant.components.sensor.const import DEVICE_CLASS_STATE_CLASSES, DEVICE_CLASS_UNITS
from homeassistant.core import HomeAssistant
from homeassistant.helpers import frame

NEWER_KEYS = {"default_entity_id"}


def problems(payload):
    found = []
    try:
        if "origin" in payload:
            MQTT_ORIGIN_INFO_SCHEMA(payload["origin"])
        config = DISCOVERY_SCHEMA(payload)
    except vol.Invalid as err:
        return [f"schema: {err}"]
    unknown = set(payload) - set(config) - NEWER_KEYS
    if unknown:
        found.append(f"keys this release does not know: {sorted(unknown)}")
    device_class = config.get("device_class")
    unit = config.get("unit_of_measurement")
    state_class = config.get("state_class")
    if device_class in DEVICE_CLASS_UNITS and unit not in DEVICE_CLASS_UNITS[device_class]:
        found.append(f"unit {unit!r} is not one of device class {device_class}'s")
    allowed = DEVICE_CLASS_STATE_CLASSES.get(device_class)
    if state_class is not None and allowed is not None and state_class not in allowed:
        found.append(f"state class {state_class} is not allowed for device class {device_class}")
    if device_class == "enum" and (state_class is not None or unit is not None):
        found.append("an enum has neither a state class nor a unit")
    return found


async def main():
    payloads = json.load(sys.stdin)
    # As in Home Assistant: schemas (their templates) are validated on its event loop.
    with tempfile.TemporaryDirectory() as config_dir:
        hass = HomeAssistant(config_dir)
        frame.async_setup(hass)
        found = {topic: problems(payload) for topic, payload in payloads.items()}
        await hass.async_stop(force=True)
    print(json.dumps(found))


asyncio.run(main())
