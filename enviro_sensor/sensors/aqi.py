"""The US EPA Air Quality Index for particulate matter, and the PM NowCast.

From EPA's Technical Assistance Document for the Reporting of Daily Air
Quality (EPA-454/B-24-002, May 2024), with the PM2.5 breakpoints of the
2024 NAAQS revision (in force from 2024-05-06) and the PM10 ones unchanged:

- a concentration is first truncated (PM2.5 to 0.1 ug/m3, PM10 to 1 ug/m3),
  then placed in the row of Table 6 whose breakpoints hold it, and the AQI
  is the straight line through that row, rounded to the nearest integer:
  I = (I_hi - I_lo) / (BP_hi - BP_lo) * (C - BP_lo) + I_lo;
- above the table's last breakpoint the last row's line goes on (the TAD:
  use the last two breakpoints);
- the reported AQI is the highest of the pollutants' indices, and that
  pollutant is the one that sets it.

The NowCast (EPA's PM NowCast, as AirNow computes it) stands in for the
24-hour average so the index follows the air hour by hour: from the last
12 hourly averages c1 (the most recent) to c12, w = c_min / c_max clamped
to at least 0.5, NowCast = sum(w^(i-1) c_i) / sum(w^(i-1)) over the hours
that have an average; none when two of the three most recent hours are
missing. The raw averages go in; the result is truncated as above.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

#: EPA's category names, from index 0 (the AQI's 0-50) to 5 (301 and higher).
CATEGORIES = (
    "Good",
    "Moderate",
    "Unhealthy for Sensitive Groups",
    "Unhealthy",
    "Very Unhealthy",
    "Hazardous",
)
# The highest AQI of each category but the last.
CATEGORY_TOPS = (50, 100, 150, 200, 300)
NOWCAST_HOURS = 12
# The weight factor's lower bound for particulate matter.
MIN_WEIGHT = 0.5


@dataclasses.dataclass(frozen=True)
class Pollutant:
    """One pollutant's table rows: (BP_lo, BP_hi, I_lo, I_hi), one per category."""

    name: str
    #: Decimal places its concentration is truncated to.
    decimals: int
    rows: tuple[tuple[float, float, int, int], ...]


PM2_5 = Pollutant(
    "pm2.5",
    1,
    (
        (0.0, 9.0, 0, 50),
        (9.1, 35.4, 51, 100),
        (35.5, 55.4, 101, 150),
        (55.5, 125.4, 151, 200),
        (125.5, 225.4, 201, 300),
        (225.5, 325.4, 301, 500),
    ),
)
PM10 = Pollutant(
    "pm10",
    0,
    (
        (0, 54, 0, 50),
        (55, 154, 51, 100),
        (155, 254, 101, 150),
        (255, 354, 151, 200),
        (355, 424, 201, 300),
        (425, 604, 301, 500),
    ),
)


def truncate(concentration: float, decimals: int) -> float:
    """Cut (never round) to ``decimals`` places: 35.49 -> 35.4 for PM2.5."""
    scale = 10**decimals
    # round() first so 0.3 * 10 = 3.0000000000000004 stays 3, not 3.00...01 -> 3.
    return math.floor(round(max(0.0, concentration) * scale, 6)) / scale


def index(concentration: float, pollutant: Pollutant) -> int:
    """The AQI of one pollutant's (24-hour or NowCast) concentration."""
    c = truncate(concentration, pollutant.decimals)
    row = next((row for row in pollutant.rows if c <= row[1]), pollutant.rows[-1])
    bp_lo, bp_hi, i_lo, i_hi = row
    # A truncated value never falls between rows (9.0 < c < 9.1 cannot
    # happen), so c >= bp_lo except past the table's end.
    value = (i_hi - i_lo) / (bp_hi - bp_lo) * (c - bp_lo) + i_lo
    return math.floor(value + 0.5)


def category(aqi: int) -> int:
    """The category's number, 1 (Good) to 6 (Hazardous)."""
    return next((n for n, top in enumerate(CATEGORY_TOPS, 1) if aqi <= top), len(CATEGORIES))


def category_name(aqi: int) -> str:
    return CATEGORIES[category(aqi) - 1]


@dataclasses.dataclass(frozen=True)
class NowCast:
    """A NowCast concentration and how it was weighed."""

    concentration: float
    weight: float
    #: Hourly averages it was made from (of the last 12).
    hours: int


def nowcast(hourly: Sequence[float | None]) -> NowCast | None:
    """The NowCast from hourly averages, most recent first (None for a missing hour).

    Only the first 12 count. None when fewer than 2 of the 3 most recent
    hours have an average (EPA's one completeness rule for the NowCast).
    """
    recent = list(hourly[:NOWCAST_HOURS])
    if sum(value is not None for value in recent[:3]) < 2:
        return None
    present = [(ago, value) for ago, value in enumerate(recent) if value is not None]
    values = [value for _, value in present]
    high, low = max(values), min(values)
    if high <= 0:
        return NowCast(0.0, 1.0, len(present))
    weight = max(low / high, MIN_WEIGHT)
    total = sum(weight**ago * value for ago, value in present)
    weights = sum(weight**ago for ago, _ in present)
    return NowCast(total / weights, weight, len(present))
