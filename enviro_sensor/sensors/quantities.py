"""Fields shared by several chips, so a metric has one name, one HELP text.

Ranges are each chip's datasheet operating range; the Bosch and Aosong
parts share -40..85 C.
"""

from __future__ import annotations

from enviro_sensor.sensors.base import Field


def temperature(low: float = -40.0, high: float = 85.0, example: float = 21.5) -> Field:
    return Field(
        "temperature_celsius",
        low,
        high,
        "enviro_temperature_celsius",
        "Air temperature as the sensor reads it.",
        example=example,
        label="Temperature",
        device_class="temperature",
        unit="°C",
    )


def pressure(low: float = 300.0, high: float = 1100.0) -> Field:
    # JSON in hPa (what weather reports use), the metric in the base unit.
    return Field(
        "pressure_hectopascals",
        low,
        high,
        "enviro_pressure_pascals",
        "Barometric pressure (station level, not reduced to sea level).",
        scale=100.0,
        example=1012.4,
        label="Pressure",
        device_class="atmospheric_pressure",
        unit="hPa",
    )


def humidity(example: float = 45.0) -> Field:
    return Field(
        "humidity_percent",
        0.0,
        100.0,
        "enviro_humidity_ratio",
        "Relative humidity as the sensor reads it (0 to 1).",
        scale=0.01,
        example=example,
        label="Humidity",
        device_class="humidity",
        unit="%",
    )
