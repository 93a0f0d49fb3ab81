"""Which readings the LCD shows, one page each, and how each is written.

A page is one field of one sensor: its title (the field's declared label),
its unit (the field's, or one the page scales to), and its decimals. The table
lists the quantities worth a glance on a 160x80 screen, in the order the
pages turn; a sensor's fields that are not in it (the proximity count, the
particle counts, raw ticks) get no page. A sensor whose room values are
estimated (the BME280 next to the Pi's CPU) shows those instead of its raw,
CPU-warmed ones.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from enviro_sensor.sensors.base import Field
from enviro_sensor.sensors.config import Sensor

# Values kept per page for its chart: one per reading, one pixel column each
# across the screen inside its margins.
CHART_POINTS = 156


@dataclasses.dataclass(frozen=True)
class Quantity:
    """How the LCD writes one field key; its title is the field's label."""

    key: str
    #: The unit the page shows; None for the field's own. A page may show
    #: another (kΩ for a resistance in ohms) with ``scale``.
    unit: str | None = None
    #: JSON value times this is the value in ``unit``.
    scale: float = 1.0
    #: Places shown: fewer than the field keeps, for a value read at a glance.
    decimals: int = 0
    #: The chart's vertical range is never narrower than this (in ``unit``),
    #: so a sensor's last-digit noise is not drawn as a swing.
    min_span: float = 1.0
    #: A field this one stands in for on the same sensor.
    instead_of: str | None = None


QUANTITIES = (
    Quantity("temperature_compensated_celsius", decimals=1, min_span=1.0, instead_of="temperature_celsius"),
    Quantity("temperature_celsius", decimals=1, min_span=1.0),
    Quantity("humidity_compensated_percent", min_span=5.0, instead_of="humidity_percent"),
    Quantity("humidity_percent", min_span=5.0),
    Quantity("pressure_hectopascals", decimals=1, min_span=2.0),
    Quantity("illuminance_lux", min_span=20.0),
    Quantity("co2_ppm", min_span=50.0),
    Quantity("voc_index", min_span=20.0),
    Quantity("pm1_0_atmospheric_micrograms_per_cubic_meter", min_span=5.0),
    Quantity("pm2_5_atmospheric_micrograms_per_cubic_meter", min_span=5.0),
    Quantity("pm10_atmospheric_micrograms_per_cubic_meter", min_span=5.0),
    Quantity("air_quality_index", min_span=20.0),
    Quantity("oxidising_ohms", "kΩ", scale=0.001, decimals=1, min_span=2.0),
    Quantity("reducing_ohms", "kΩ", scale=0.001, min_span=20.0),
    Quantity("nh3_ohms", "kΩ", scale=0.001, min_span=10.0),
    Quantity("sound_level_dbfs", decimals=1, min_span=10.0),
)


def page_title(field: Field) -> str:
    """The field's label without its qualifier ("Temperature (compensated)" -> "Temperature"):
    a page shows one value of its kind per sensor, and the screen is 160 pixels wide."""
    return re.sub(r"\s*\([^)]*\)$", "", field.label)


@dataclasses.dataclass(frozen=True)
class Page:
    """One page: a sensor's field and how to write it."""

    sensor: str
    quantity: Quantity
    #: The heading: the quantity's title, with the sensor's name where two
    #: sensors measure the same quantity.
    title: str

    @property
    def key(self) -> str:
        return self.quantity.key


def pages_for(sensors: Iterable[Sensor]) -> tuple[Page, ...]:
    """The pages for these sensors' declared fields, in the table's order."""
    sensors = list(sensors)
    found: list[tuple[Sensor, Quantity, str]] = []
    for quantity in QUANTITIES:
        for sensor in sensors:
            fields = {field.key: field for field in sensor.fields}
            field = fields.get(quantity.key)
            if field is None:
                continue
            if any(other.instead_of == quantity.key and other.key in fields for other in QUANTITIES):
                continue  # the sensor's room estimate stands in for it
            if quantity.unit is None:
                quantity = dataclasses.replace(quantity, unit=field.unit or "")
            found.append((sensor, quantity, page_title(field)))
    titles = [title for _sensor, _quantity, title in found]
    return tuple(
        Page(sensor.name, quantity, title if titles.count(title) == 1 else f"{title} {sensor.name}")
        for sensor, quantity, title in found
    )


def chart_keys(pages: Iterable[Page]) -> frozenset[tuple[str, str]]:
    """(sensor, field key) of every page: the values whose recent history is kept."""
    return frozenset((page.sensor, page.key) for page in pages)
