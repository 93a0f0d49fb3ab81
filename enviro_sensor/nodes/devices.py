"""The remote nodes this service accepts: the TOML file named by ENVIRO_NODES_FILE.

One ``[[device]]`` table per node::

    [[device]]
    id = 1001                      # the packet's device id, 1 .. 4294967295
    name = "kitchen"               # the node label and route: a-z, 0-9, _ and -
    location = "Kitchen, on the fridge"
    key = "5f1c...e2"              # 16 to 64 bytes: hex, or key_base64 = "..."
    measurements = ["bme280.temperature_celsius", "bme280.humidity_percent"]

``measurements`` says, in the packet's order, which kind's field each value
is, so a remote value is checked against the same declaration (range,
finiteness) as a local one. Parsed with the standard library's tomllib.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any

from enviro_sensor.nodes import fields
from enviro_sensor.nodes.protocol import MAX_MEASUREMENTS
from enviro_sensor.sensors.base import Field

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MIN_KEY_BYTES, MAX_KEY_BYTES = 16, 64
MAX_DEVICE_ID = 2**32 - 1
KNOWN_KEYS = {"id", "name", "location", "key", "key_base64", "measurements"}


@dataclasses.dataclass(frozen=True)
class Measured:
    """What one of a node's measurements is: a kind (the sensor name) and its field."""

    sensor: str
    field: Field

    @property
    def label(self) -> str:
        return f"{self.sensor}.{self.field.key}"


@dataclasses.dataclass(frozen=True)
class Device:
    """One remote node."""

    id: int
    name: str
    location: str
    key: bytes = dataclasses.field(repr=False)
    measurements: tuple[Measured, ...]
    #: Made up by the service for ENVIRO_VIRTUAL_NODES, not read from the file.
    virtual: bool = False

    def sensors(self) -> dict[str, tuple[Field, ...]]:
        """The node's sensors (kinds) and the fields it measures of each, in order."""
        found: dict[str, list[Field]] = {}
        for measured in self.measurements:
            found.setdefault(measured.sensor, []).append(measured.field)
        return {sensor: tuple(declared) for sensor, declared in found.items()}


def parse_measurement(text: object) -> Measured:
    if not isinstance(text, str) or "." not in text:
        raise ValueError(f"a measurement is written kind.field, got {text!r}")
    kind, _, key = text.partition(".")
    try:
        declared = fields.fields_of(kind)
    except KeyError:
        raise ValueError(
            f"unknown kind {kind!r} in {text!r} (known: {', '.join(fields.known_kinds())})"
        ) from None
    field = next((f for f in declared if f.key == key), None)
    if field is None:
        keys = ", ".join(f.key for f in declared)
        raise ValueError(f"{kind} has no field {key!r} (it has: {keys})")
    return Measured(kind, field)


def _key(table: Mapping[str, Any], where: str) -> bytes:
    if ("key" in table) == ("key_base64" in table):
        raise ValueError(f"{where}: give the key as either key (hex) or key_base64")
    try:
        if "key" in table:
            key = bytes.fromhex(str(table["key"]))
        else:
            key = base64.b64decode(str(table["key_base64"]), validate=True)
    except (ValueError, binascii.Error):
        raise ValueError(f"{where}: the key is not valid hex or base64") from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise ValueError(f"{where}: a key has {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes, got {len(key)}")
    return key


def parse_device(table: object, index: int) -> Device:
    where = f"device {index + 1}"
    if not isinstance(table, dict):
        raise ValueError(f"{where}: expected a [[device]] table")
    device_id = table.get("id")
    if isinstance(device_id, bool) or not isinstance(device_id, int) or not 1 <= device_id <= MAX_DEVICE_ID:
        raise ValueError(f"{where}: id must be a whole number from 1 to {MAX_DEVICE_ID}")
    where = f"device {device_id}"
    unknown = set(table) - KNOWN_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    name = table.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"{where}: name must be 1 to 40 of a-z, 0-9, _ and -, got {name!r}")
    location = table.get("location", "")
    if not isinstance(location, str):
        raise ValueError(f"{where}: location must be text")
    measurements = table.get("measurements", [])
    if not isinstance(measurements, list):
        raise ValueError(f'{where}: measurements must be a list like ["bme280.temperature_celsius"]')
    if len(measurements) > MAX_MEASUREMENTS:
        raise ValueError(f"{where}: at most {MAX_MEASUREMENTS} measurements")
    try:
        measured = tuple(parse_measurement(item) for item in measurements)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    if len({m.label for m in measured}) != len(measured):
        raise ValueError(f"{where}: a measurement is listed twice")
    return Device(device_id, name, location, _key(table, where), measured)


def check_unique(devices: Sequence[Device]) -> None:
    for attribute in ("id", "name"):
        seen = [getattr(device, attribute) for device in devices]
        twice = sorted({str(v) for v in seen if seen.count(v) > 1})
        if twice:
            raise ValueError(f"two devices share the {attribute} {twice[0]}")


def parse_devices(text: str) -> tuple[Device, ...]:
    """Devices from the TOML text; ValueError with one line saying what is wrong."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"not valid TOML: {err}") from None
    unknown = set(document) - {"device"}
    if unknown:
        raise ValueError(f"unknown table(s) {', '.join(sorted(unknown))}; devices are [[device]] tables")
    tables = document.get("device", [])
    if not isinstance(tables, list):
        raise ValueError("devices are [[device]] tables")
    devices = tuple(parse_device(table, index) for index, table in enumerate(tables))
    check_unique(devices)
    return devices


def load_devices(path: str) -> tuple[Device, ...]:
    """The devices file ``path`` (empty: no devices); ValueError naming the problem."""
    if not path.strip():
        return ()
    try:
        with open(path.strip(), encoding="utf-8") as file:
            text = file.read()
    except OSError as err:
        raise ValueError(f"cannot read {path.strip()}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path.strip()} is not UTF-8 text") from None
    return parse_devices(text)
