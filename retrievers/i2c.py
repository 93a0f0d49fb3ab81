"""Extra I2C sensors beside the Enviro+'s own, from ``ENVIRO_I2C_SENSORS``.

The list reads ``kind@address[:bus]``, comma separated, e.g.
``aht10@0x38,bmp280@0x77`` (bus 1, the Pi's header bus, when not given).
A sensor is named after its kind, or ``kind_0xNN`` when a kind appears more
than once, and that name is its ``sensor`` label and its route.
"""

from __future__ import annotations

import collections
import dataclasses

from retrievers.aht10 import AHT10Reader
from retrievers.base import SensorReader
from retrievers.bmp280 import BMP280Reader

KINDS = {"aht10": AHT10Reader, "bmp280": BMP280Reader}
# 7-bit addresses outside the I2C reserved ranges (0x00-0x07, 0x78-0x7F).
FIRST_ADDRESS, LAST_ADDRESS = 0x08, 0x77


@dataclasses.dataclass(frozen=True)
class I2CSensorSpec:
    name: str
    kind: str
    address: int
    bus: int


def _parse_item(item: str) -> tuple[str, int, int]:
    kind, at, where = (part.strip() for part in item.partition("@"))
    kind = kind.lower()
    if not at or not kind or not where:
        raise ValueError(f"expected kind@address, got {item!r}")
    if kind not in KINDS:
        raise ValueError(f"unknown sensor kind {kind!r} in {item!r} (known: {', '.join(sorted(KINDS))})")
    address_text, _, bus_text = where.partition(":")
    try:
        address = int(address_text, 0)
    except ValueError:
        raise ValueError(f"bad address {address_text!r} in {item!r} (write it like 0x38)") from None
    if not FIRST_ADDRESS <= address <= LAST_ADDRESS:
        raise ValueError(f"address 0x{address:02x} in {item!r} is outside 0x08..0x77")
    bus = 1
    if bus_text:
        if not bus_text.isdigit():
            raise ValueError(f"bad bus number {bus_text!r} in {item!r}")
        bus = int(bus_text)
    return kind, address, bus


def parse_i2c_sensors(text: str) -> tuple[I2CSensorSpec, ...]:
    """Parse the setting; raises ValueError naming the bad item."""
    items = [_parse_item(item) for item in text.split(",") if item.strip()]
    seen = set()
    for _, address, bus in items:
        if (bus, address) in seen:
            raise ValueError(f"two sensors at 0x{address:02x} on bus {bus}")
        seen.add((bus, address))
    kinds = collections.Counter(kind for kind, _, _ in items)
    return tuple(
        I2CSensorSpec(kind if kinds[kind] == 1 else f"{kind}_0x{address:02x}", kind, address, bus)
        for kind, address, bus in items
    )


def build_readers(specs: tuple[I2CSensorSpec, ...]) -> list[SensorReader]:
    return [KINDS[spec.kind](name=spec.name, address=spec.address, bus=spec.bus) for spec in specs]
