"""Which readings the LCD shows, one page each, and how each is written.

A page is one field of one sensor: its title, its unit as a person writes
it, the scale from the JSON value to that unit, and its decimals. The table
lists the quantities worth a glance on a 160x80 screen, in the order the
pages turn; a sensor's fields that are not in it (the proximity count, the
particle counts, raw ticks) get no page. A sensor whose room values are
estimated (the BME280 next to the Pi's CPU) shows those instead of its raw,
CPU-warmed ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from enviro_sensor.sensors.config import Sensor

# Values kept per page for its chart: one per reading, one pixel column each
# across the screen inside its margins.
CHART_POINTS = 156


@dataclasses.dataclass(frozen=True)
class Quantity:
    """How the LCD writes one field key."""

    key: str
    title: str
    unit: str
    #: JSON value times this is the value in ``unit``.
    scale: float = 1.0
    decimals: int = 0
    #: The chart's vertical range is never narrower than this (in ``unit``),
    #: so a sensor's last-digit noise is not drawn as a swing.
    min_span: float = 1.0
    #: A field this one stands in for on the same sensor.
    instead_of: str | None = None


QUANTITIES = (
    Quantity(
        "temperature_compensated_celsius",
        "Temperature",
        "°C",
        decimals=1,
        min_span=1.0,
        instead_of="temperature_celsius",
    ),
    Quantity("temperature_celsius", "Temperature", "°C", decimals=1, min_span=1.0),
    Quantity("humidity_compensated_percent", "Humidity", "%", min_span=5.0, instead_of="humidity_percent"),
    Quantity("humidity_percent", "Humidity", "%", min_span=5.0),
    Quantity("pressure_hectopascals", "Pressure", "hPa", decimals=1, min_span=2.0),
    Quantity("illuminance_lux", "Light", "lux", min_span=20.0),
    Quantity("co2_ppm", "CO2", "ppm", min_span=50.0),
    Quantity("voc_index", "VOC index", "", min_span=20.0),
    Quantity("pm1_0_atmospheric_micrograms_per_cubic_meter", "PM1", "µg/m³", min_span=5.0),
    Quantity("pm2_5_atmospheric_micrograms_per_cubic_meter", "PM2.5", "µg/m³", min_span=5.0),
    Quantity("pm10_atmospheric_micrograms_per_cubic_meter", "PM10", "µg/m³", min_span=5.0),
    Quantity("air_quality_index", "AQI (US EPA)", "", min_span=20.0),
    Quantity("oxidising_ohms", "Oxidising gas", "kΩ", scale=0.001, decimals=1, min_span=2.0),
    Quantity("reducing_ohms", "Reducing gas", "kΩ", scale=0.001, min_span=20.0),
    Quantity("nh3_ohms", "NH3 gas", "kΩ", scale=0.001, min_span=10.0),
    Quantity("sound_level_dbfs", "Sound", "dBFS", decimals=1, min_span=10.0),
)


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
    found: list[tuple[Sensor, Quantity]] = []
    for quantity in QUANTITIES:
        for sensor in sensors:
            keys = {field.key for field in sensor.fields}
            if quantity.key not in keys:
                continue
            if any(other.instead_of == quantity.key and other.key in keys for other in QUANTITIES):
                continue  # the sensor's room estimate stands in for it
            found.append((sensor, quantity))
    titles = [quantity.title for _sensor, quantity in found]
    return tuple(
        Page(
            sensor.name,
            quantity,
            quantity.title if titles.count(quantity.title) == 1 else f"{quantity.title} {sensor.name}",
        )
        for sensor, quantity in found
    )


def chart_keys(pages: Iterable[Page]) -> frozenset[tuple[str, str]]:
    """(sensor, field key) of every page: the values whose recent history is kept."""
    return frozenset((page.sensor, page.key) for page in pages)
