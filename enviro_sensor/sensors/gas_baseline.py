"""The MICS6814's clean-air baseline: each element's resistance as a ratio Rs/R0.

A metal-oxide element's resistance in clean air (R0) differs from part to
part by a factor of several (datasheet 1143: a wide R0 range), drifts as
the element ages and follows humidity and temperature; the datasheet's
sensitivity curves are written as Rs/R0. So the service learns R0 from the
readings themselves, as NDIR CO2 sensors learn their zero ("automatic
baseline correction": the lowest reading of the last days is taken as
outdoor air):

- every clock hour's readings give one median per element (a median, so a
  passing puff of fumes or a spike does not move it);
- R0 is the cleanest hourly median of the last ``days`` days: the highest
  for the reducing and NH3 elements, whose resistance falls as their gases
  rise, and the lowest for the oxidising element, whose resistance rises
  with NO2;
- until ``min_hours`` hourly medians exist the ratios are left out and the
  reading's notes say how far learning has got.

The ratio assumes the room is aired, or otherwise clean, for at least an
hour in the window; in a room that never is, R0 is the least bad hour and
the ratios read low (reducing, NH3) or high (oxidising). Humidity is not
corrected: the datasheet gives no humidity curve to correct with, and the
board's own humidity sensor is warmed by the Pi beside it. A humidity
change over days moves R0 with it, so the rolling window absorbs seasons;
within a day, a humid hour still lowers the reducing and NH3 ratios.

No ppm figures: the datasheet's curves are for one gas at a time in dry
synthetic air at 25 °C, and a room is a mixture; a ppm read off them would
look precise and mean little.

The hourly medians are kept in ``<ENVIRO_DATA_DIR>/gas-baseline-<sensor>.json``,
written when an hour ends (at most every ``SAVE_EVERY`` seconds) and at
shutdown, so a restart keeps what was learned.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping
from typing import TYPE_CHECKING

from enviro_sensor.config import parsers
from enviro_sensor.config.declarations import Setting, declare
from enviro_sensor.sensors.derivation import Derived
from enviro_sensor.sensors.saved_state import SavedState

if TYPE_CHECKING:
    from enviro_sensor.clocks import Clock
    from enviro_sensor.sensors.config import Sensor

HOUR = 3600.0
FILE_VERSION = 1
# The file changes once an hour; this only bounds a clock that races.
SAVE_EVERY = 600.0
# Hourly medians needed before a ratio is published (a day: one night, one
# airing, one meal), or the whole window when it is shorter.
MIN_HOURS = 24
# An hour with fewer reads than this gives no median (a restart, a pause).
MIN_READS_PER_HOUR = 3
# Which way clean air lies for each element: "high" resistance or "low".
CLEAN_SIDE = {"oxidising": "low", "reducing": "high", "nh3": "high"}


def ratio_key(channel: str) -> str:
    return f"{channel}_ratio"


class GasBaseline:
    """Learns R0 for each channel from hourly medians and gives Rs/R0."""

    def __init__(
        self,
        channels: tuple[str, ...],
        days: float,
        state: SavedState,
        min_hours: int = MIN_HOURS,
    ) -> None:
        self.channels = channels
        self.window_hours = max(1, round(days * 24))
        self.min_hours = min(min_hours, self.window_hours)
        self._state = state
        #: Finished hours: channel -> {hour number: median ohms}.
        self._medians: dict[str, dict[int, float]] = {channel: {} for channel in channels}
        self._hour: int | None = None
        self._samples: dict[str, list[float]] = {channel: [] for channel in channels}
        #: R0 by channel, worked out once per hour rather than on every read.
        self._baselines: dict[str, float | None] = {}
        self._load()

    # -- learning ------------------------------------------------------------

    def derive(self, values: Mapping[str, float], at: float) -> Derived:
        hour = math.floor(at / HOUR)
        if self._hour is None:
            self._hour = hour
            self._forget_before(hour - self.window_hours)
        elif hour > self._hour:
            self._finish_hour()
            self._hour = hour
            self._forget_before(hour - self.window_hours)
            if self._state.due(at):
                self._state.save_hourly(FILE_VERSION, "medians", self._medians, at)
        # A read from before the current hour (the clock was set back) is
        # given its ratio but not learned from.
        if hour == self._hour:
            for channel in self.channels:
                self._samples[channel].append(values[f"{channel}_ohms"])
        return self._ratios(values)

    def _finish_hour(self) -> None:
        assert self._hour is not None
        for channel, samples in self._samples.items():
            if len(samples) >= MIN_READS_PER_HOUR:
                self._medians[channel][self._hour] = statistics.median(samples)
            samples.clear()

    def _forget_before(self, first_hour: int) -> None:
        for medians in self._medians.values():
            for hour in [h for h in medians if h < first_hour]:
                del medians[hour]
        self._baselines.clear()

    def baseline(self, channel: str) -> float | None:
        """R0 in ohms, or None while still learning."""
        if channel not in self._baselines:
            medians = self._medians[channel]
            pick = max if CLEAN_SIDE[channel] == "high" else min
            self._baselines[channel] = pick(medians.values()) if len(medians) >= self.min_hours else None
        return self._baselines[channel]

    def _ratios(self, values: Mapping[str, float]) -> Derived:
        ratios: dict[str, float] = {}
        notes: dict[str, str] = {}
        for channel in self.channels:
            r0 = self.baseline(channel)
            hours = len(self._medians[channel])
            if r0 is None:
                notes[ratio_key(channel)] = (
                    f"learning the clean-air baseline: {hours} of {self.min_hours} hourly medians so far"
                )
                continue
            ratios[ratio_key(channel)] = values[f"{channel}_ohms"] / r0
            side = "highest" if CLEAN_SIDE[channel] == "high" else "lowest"
            notes[ratio_key(channel)] = f"R0 {r0:.0f} ohms, the {side} of {hours} hourly medians"
        return Derived(ratios, notes)

    # -- keeping -------------------------------------------------------------

    def close(self) -> None:
        self._state.save_hourly(FILE_VERSION, "medians", self._medians)

    def _load(self) -> None:
        loaded = self._state.load_hourly(
            FILE_VERSION, "medians", self.channels, lambda m: m > 0, "a median that is not a positive number"
        )
        if loaded is not None:
            self._medians = loaded
            self._baselines.clear()


@dataclasses.dataclass(frozen=True)
class GasOptions:
    """The MICS6814's settings: its heater's warm-up and how long its baseline learns."""

    warmup: float
    baseline_days: float
    data_dir: str | None


SETTINGS = declare(
    "mics6814",
    GasOptions,
    Setting(
        "warmup",
        "600",
        parsers.seconds(0, 86400),
        "seconds after the gas heater switches on during which readings are reported as warming up",
    ),
    Setting(
        "baseline_days",
        "7",
        parsers.number(1, 60, "days"),
        "days of hourly medians the MICS6814's clean-air baseline (R0 of `*_ratio`) is taken from; "
        "ratios appear after 24 hours of learning (kept in `ENVIRO_DATA_DIR`)",
    ),
    prefix="gas",
    shared=("data_dir",),
)


def from_options(sensor: Sensor, options: GasOptions, clock: Clock) -> GasBaseline:
    """The baseline of one MICS6814, kept in ENVIRO_DATA_DIR when it is set."""
    del clock  # the reading's own time is what counts
    state = SavedState(options.data_dir, f"gas-baseline-{sensor.name}.json", SAVE_EVERY)
    return GasBaseline(tuple(CLEAN_SIDE), options.baseline_days, state)
