"""Correcting the BME280 for the Raspberry Pi's heat.

The Enviro+ sits on the Pi's GPIO header, so the CPU warms the BME280 above
the room. Pimoroni's examples estimate the room temperature as
``raw - (cpu - raw) / factor`` with ``factor`` about 2.25, the CPU
temperature averaged over recent samples. Warming air holds the same water,
so the dew point is unchanged: relative humidity is recomputed at the
corrected temperature from the dew point the sensor saw.
"""

from __future__ import annotations

import collections
import math

# Magnus formula coefficients over water, -45..60 C (Sonntag 1990), the
# range the BME280 operates in indoors.
MAGNUS_B = 17.62
MAGNUS_C = 243.12


def compensated_temperature(raw_celsius: float, cpu_celsius: float, factor: float) -> float:
    """Room temperature estimated from the sensor's and the CPU's."""
    return raw_celsius - (cpu_celsius - raw_celsius) / factor


def dew_point(temperature_celsius: float, humidity_percent: float) -> float:
    """Dew point in Celsius (Magnus formula)."""
    gamma = math.log(humidity_percent / 100.0) + MAGNUS_B * temperature_celsius / (
        MAGNUS_C + temperature_celsius
    )
    return MAGNUS_C * gamma / (MAGNUS_B - gamma)


def relative_humidity(temperature_celsius: float, dew_point_celsius: float) -> float:
    """Relative humidity in percent of air at ``temperature_celsius`` with that dew point."""
    exponent = MAGNUS_B * dew_point_celsius / (
        MAGNUS_C + dew_point_celsius
    ) - MAGNUS_B * temperature_celsius / (MAGNUS_C + temperature_celsius)
    return 100.0 * math.exp(exponent)


def compensated_humidity(raw_celsius: float, raw_percent: float, room_celsius: float) -> float:
    """Relative humidity at the room temperature, keeping the measured dew point.

    Capped at 100 %: past saturation water condenses, the air holds no more.
    """
    if raw_percent <= 0.0:
        return 0.0
    return min(100.0, relative_humidity(room_celsius, dew_point(raw_celsius, raw_percent)))


class RecentAverage:
    """Mean of the last ``size`` samples actually taken (not padded)."""

    def __init__(self, size: int = 5) -> None:
        self._samples: collections.deque[float] = collections.deque(maxlen=size)

    def add(self, value: float) -> float:
        self._samples.append(value)
        return sum(self._samples) / len(self._samples)
