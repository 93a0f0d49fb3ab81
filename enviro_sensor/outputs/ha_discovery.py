"""Home Assistant's MQTT discovery payloads, built from the sensors' ``Field`` declarations.

Each entity is a retained config under
``homeassistant/sensor/<node>/<object_id>/config`` (Home Assistant's MQTT
discovery documentation). What a person sees comes from the declaration:
the field's label as the entity's name (with the sensor's name after it
where two sensors of one device measure the same thing), its unit, its
decimals as the suggested display precision; an enum-like field (the AQI
category) becomes an ``enum`` entity with its options and no state class,
so Home Assistant keeps no statistics of it. A sensor's status and a node's
battery and last contact are ``diagnostic`` entities: facts about the
device, shown apart from the room's readings.

The entity id is sent twice: ``object_id`` for releases before 2025.10, and
``default_entity_id`` (the whole ``sensor.<id>``) that replaces it; each
release ignores the key it does not know.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from enviro_sensor.records import STATUSES
from enviro_sensor.sensors.base import Field
from enviro_sensor.version import SERVICE, VERSION

DISCOVERY_PREFIX = "homeassistant"
ONLINE, OFFLINE = "online", "offline"
DIAGNOSTIC = "diagnostic"
#: The object id of a node's last-contact entity, after the node's name.
LAST_CONTACT = "last_contact"
#: The object id of a sensor's status entity, after the sensor's name.
STATUS = "status"


def config_topic(node: str, object_id: str) -> str:
    return f"{DISCOVERY_PREFIX}/sensor/{node}/{object_id}/config"


def config_prefix(node: str) -> str:
    """Where every config this service announces lives (a wildcard subscription's base)."""
    return f"{DISCOVERY_PREFIX}/sensor/{node}/"


def board_device(node: str, dashboard_url: str | None) -> dict[str, Any]:
    """The device block of this board: one Home Assistant device per service."""
    device: dict[str, Any] = {
        "identifiers": [f"{SERVICE}_{node}"],
        "name": f"Enviro+ {node}",
        "manufacturer": "Pimoroni",
        "model": "Enviro+",
        "sw_version": VERSION,
    }
    if dashboard_url is not None:
        device["configuration_url"] = dashboard_url
    return device


def node_device(node: str, remote: str, dashboard_url: str | None) -> dict[str, Any]:
    """The device block of a remote node, reached through this board."""
    device: dict[str, Any] = {
        "identifiers": [f"{SERVICE}_{node}_node_{remote}"],
        "name": f"Enviro node {remote}",
        # Whoever built the node is unknown here; the service is what speaks for it.
        "manufacturer": SERVICE,
        "model": "remote sensor node",
        "sw_version": VERSION,
        "via_device": f"{SERVICE}_{node}",
    }
    if dashboard_url is not None:
        device["configuration_url"] = dashboard_url
    return device


def entity_names(sensors: Mapping[str, Iterable[Field]]) -> dict[tuple[str, str], str]:
    """Each field's entity name within one device: its label, qualified by the sensor where shared.

    A board with a BME280 and an SCD41 has two temperatures: "Temperature
    (bme280)" and "Temperature (scd41)"; a board with one has "Temperature".
    """
    owners: dict[str, set[str]] = {}
    fields = {sensor: tuple(declared) for sensor, declared in sensors.items()}
    for sensor, declared in fields.items():
        for field in declared:
            owners.setdefault(field.label, set()).add(sensor)
    return {
        (sensor, field.key): field.label if len(owners[field.label]) == 1 else f"{field.label} ({sensor})"
        for sensor, declared in fields.items()
        for field in declared
    }


def _value_template(field: Field) -> str:
    if field.options is not None:
        # Home Assistant's enum states are words: the reading's number picks its name.
        names = {str(number): name for number, name in field.options.items()}
        return (
            f"{{% set n = value_json.get('{field.key}') %}}"
            f"{{{{ {names!r}.get(n | int | string) if n is not none else none }}}}"
        )
    if field.optional:
        # An optional value left out of a state renders as "None", which Home
        # Assistant takes as unknown (a missing attribute would log an error).
        return f"{{{{ value_json.get('{field.key}') }}}}"
    return f"{{{{ value_json.{field.key} }}}}"


def _common(name: str, node: str, object_id: str, device: dict[str, Any]) -> dict[str, Any]:
    entity_id = f"{node}_{object_id}"
    return {
        "name": name,
        "unique_id": entity_id,
        "object_id": entity_id,
        "default_entity_id": f"sensor.{entity_id}",
        "device": device,
        "origin": {"name": SERVICE, "sw_version": VERSION},
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
    }


def field_config(
    field: Field,
    *,
    name: str,
    object_id: str,
    node: str,
    base: str,
    sensor_path: str,
    device: dict[str, Any],
    expire_after: float,
) -> tuple[str, dict[str, Any]]:
    """One field's discovery topic and payload: the service's availability under ``base``, the
    sensor's state and availability under ``base/sensor_path``."""
    sensor_base = f"{base}/{sensor_path}"
    payload = _common(name, node, object_id, device)
    payload.update(
        {
            "state_topic": f"{sensor_base}/state",
            "value_template": _value_template(field),
            "suggested_display_precision": field.decimals,
            "availability": [
                {"topic": f"{base}/availability"},
                {"topic": f"{sensor_base}/availability"},
            ],
            "availability_mode": "all",
        }
    )
    if expire_after > 0:
        # HA wants whole seconds; rounding up never expires a fresh value.
        payload["expire_after"] = math.ceil(expire_after)
    if field.options is not None:
        payload["device_class"] = "enum"
        payload["options"] = list(field.options.values())
        del payload["suggested_display_precision"]
    else:
        if field.device_class is not None:
            payload["device_class"] = field.device_class
        if field.state_class is not None:
            payload["state_class"] = field.state_class
        if field.unit is not None:
            payload["unit_of_measurement"] = field.unit
    if field.diagnostic:
        payload["entity_category"] = DIAGNOSTIC
    return config_topic(node, object_id), payload


def status_config(sensor: str, *, node: str, base: str, device: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A sensor's status (ok, failing, warming-up...) as a diagnostic enum.

    Available while the service is, whatever the sensor does: a failing
    sensor is exactly when its status is worth seeing.
    """
    object_id = f"{sensor}_{STATUS}"
    payload = _common(f"Status ({sensor})", node, object_id, device)
    payload.update(
        {
            "state_topic": f"{base}/{sensor}/{STATUS}",
            "device_class": "enum",
            "options": list(STATUSES),
            "entity_category": DIAGNOSTIC,
            "availability_topic": f"{base}/availability",
        }
    )
    return config_topic(node, object_id), payload


def last_contact_config(
    remote: str, *, node: str, base: str, device: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """When a remote node was last heard from, as a diagnostic timestamp."""
    object_id = f"{remote}_{LAST_CONTACT}"
    payload = _common("Last contact", node, object_id, device)
    payload.update(
        {
            "state_topic": last_contact_topic(base, remote),
            "device_class": "timestamp",
            "entity_category": DIAGNOSTIC,
            "availability_topic": f"{base}/availability",
        }
    )
    return config_topic(node, object_id), payload


def last_contact_topic(base: str, remote: str) -> str:
    return f"{base}/nodes/{remote}/{LAST_CONTACT}"


def topics_read_by(payload: Mapping[str, Any], base: str) -> set[str]:
    """The state and availability topics an announced entity reads, the service's own availability
    (shared by every entity) left out: what to clear when the entity is removed."""
    topics = {payload.get("state_topic"), payload.get("availability_topic")}
    for entry in payload.get("availability") or ():
        if isinstance(entry, Mapping):
            topics.add(entry.get("topic"))
    return {
        topic
        for topic in topics
        if isinstance(topic, str) and topic.startswith(f"{base}/") and topic != f"{base}/availability"
    }
