"""The PMS5003's US EPA air quality index: hourly averages, NowCast, AQI (retrievers.aqi).

Each valid reading's PM2.5 and PM10 (the "atmospheric environment" values,
after any ``ENVIRO_CALIBRATION``) goes into its clock hour's average. An
hour counts once it is over, if readings came in at least three of its four
quarters: EPA counts an hourly average as valid with 45 minutes of data,
and quarters keep that rule for a sensor read every few minutes as well as
every second. From the 12 hours before the current one the NowCast and the
AQI follow, so the index changes at the top of each hour, as AirNow's does,
and the first one comes after two full hours of readings.

The last 12 hourly averages are kept in
``<ENVIRO_DATA_DIR>/air-quality-<sensor>.json`` (written when an hour ends
and at shutdown), so a restart does not cost the index.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from enviro_sensor.sensors import aqi
from enviro_sensor.sensors.derivation import Derived
from enviro_sensor.sensors.saved_state import SavedState

if TYPE_CHECKING:
    from enviro_sensor.clocks import Clock
    from enviro_sensor.sensors.config import Sensor

HOUR = 3600.0
FILE_VERSION = 1
SAVE_EVERY = 600.0
# An hour is valid with readings in this many of its four quarters.
MIN_QUARTERS = 3
# The PMS5003's fields each pollutant is averaged from, and its sub-index's key.
SOURCES = (
    (aqi.PM2_5, "pm2_5_atmospheric_micrograms_per_cubic_meter", "air_quality_index_pm2_5"),
    (aqi.PM10, "pm10_atmospheric_micrograms_per_cubic_meter", "air_quality_index_pm10"),
)
INDEX_KEY = "air_quality_index"
CATEGORY_KEY = "air_quality_category"
LABEL = {"pm2.5": "PM2.5", "pm10": "PM10"}


class AirQualityIndex:
    """Hourly averages of PM2.5 and PM10, and the NowCast AQI from them."""

    def __init__(self, state: SavedState) -> None:
        self._state = state
        #: Finished, valid hours: pollutant name -> {hour number: average}.
        self._averages: dict[str, dict[int, float]] = {p.name: {} for p, _, _ in SOURCES}
        self._hour: int | None = None
        self._sums = {p.name: 0.0 for p, _, _ in SOURCES}
        self._count = 0
        self._quarters: set[int] = set()
        self._cached: tuple[int, Derived] | None = None
        self._load()

    def derive(self, values: Mapping[str, float], at: float) -> Derived:
        hour = math.floor(at / HOUR)
        if self._hour is None:
            self._hour = hour
        elif hour > self._hour:
            self._finish_hour()
            self._hour = hour
            self._forget_before(hour - aqi.NOWCAST_HOURS)
            if self._state.due(at):
                self._state.save_hourly(FILE_VERSION, "averages", self._averages, at)
        if hour == self._hour:  # not a read from before a clock was set back
            for pollutant, key, _ in SOURCES:
                self._sums[pollutant.name] += values[key]
            self._count += 1
            self._quarters.add(math.floor((at - hour * HOUR) / (HOUR / 4)))
        if self._cached is None or self._cached[0] != self._hour:
            self._cached = (self._hour, self._index(self._hour))
        return self._cached[1]

    def _finish_hour(self) -> None:
        assert self._hour is not None
        if self._count and len(self._quarters) >= MIN_QUARTERS:
            for name, total in self._sums.items():
                self._averages[name][self._hour] = total / self._count
        self._sums = dict.fromkeys(self._sums, 0.0)
        self._count = 0
        self._quarters = set()

    def _forget_before(self, first_hour: int) -> None:
        for averages in self._averages.values():
            for hour in [h for h in averages if h < first_hour]:
                del averages[hour]

    def _index(self, current_hour: int) -> Derived:
        """The AQI from the 12 hours before ``current_hour``."""
        indices: dict[str, int] = {}
        notes: dict[str, str] = {}
        for pollutant, _, key in SOURCES:
            averages = self._averages[pollutant.name]
            hourly = [averages.get(current_hour - ago) for ago in range(1, aqi.NOWCAST_HOURS + 1)]
            cast = aqi.nowcast(hourly)
            if cast is None:
                recent = sum(value is not None for value in hourly[:3])
                why = (
                    f"the NowCast needs hourly averages for 2 of the last 3 full clock hours; "
                    f"there {'is' if recent == 1 else 'are'} {recent}"
                )
                return Derived({}, {INDEX_KEY: why})
            indices[key] = aqi.index(cast.concentration, pollutant)
            truncated = aqi.truncate(cast.concentration, pollutant.decimals)
            notes[key] = (
                f"NowCast {truncated:.{pollutant.decimals}f} µg/m³ from {cast.hours} hourly averages, "
                f"weight {cast.weight:.2f}"
            )
        # The highest sub-index is the AQI; on a tie PM2.5 (listed first) is named.
        top_key = max((key for _, _, key in SOURCES), key=lambda key: indices[key])
        top = indices[top_key]
        pollutant = next(p for p, _, key in SOURCES if key == top_key)
        derived = dict(indices)
        derived[INDEX_KEY] = top
        derived[CATEGORY_KEY] = aqi.category(top)
        notes[INDEX_KEY] = f"US EPA AQI (NowCast), set by {LABEL[pollutant.name]}"
        notes[CATEGORY_KEY] = aqi.category_name(top)
        return Derived(derived, notes)

    # -- keeping -------------------------------------------------------------

    def close(self) -> None:
        self._state.save_hourly(FILE_VERSION, "averages", self._averages)

    def _load(self) -> None:
        loaded = self._state.load_hourly(
            FILE_VERSION,
            "averages",
            self._averages,
            lambda v: v >= 0,
            "an average that is not a number of 0 or more",
        )
        if loaded is not None:
            self._averages = loaded


def from_options(sensor: Sensor, options: Any, clock: Clock) -> AirQualityIndex:
    """The index of one PMS5003, its hours kept in ENVIRO_DATA_DIR when it is set."""
    del clock  # the reading's own time is what counts
    return AirQualityIndex(SavedState(options.data_dir, f"air-quality-{sensor.name}.json", SAVE_EVERY))
