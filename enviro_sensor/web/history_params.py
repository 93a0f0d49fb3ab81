"""Reading the history routes' query strings: times, ranges, steps; a ValueError says what is wrong."""

from __future__ import annotations

import dataclasses
import datetime
import math
import re
from collections.abc import Mapping
from typing import Protocol

from enviro_sensor.sensors.base import Field


class Series(Protocol):
    """What the history is asked about: a local sensor, or a remote node's (``kitchen/bme280``)."""

    @property
    def name(self) -> str: ...

    @property
    def fields(self) -> tuple[Field, ...]: ...


RELATIVE = re.compile(r"-(\d{1,9}(?:\.\d{1,6})?)([smhdw])")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# More points than this per series is refused: a phone draws a few hundred.
MAX_POINTS = 5000
# Steps the service picks when none is asked for, seconds.
NICE_STEPS = (10, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 43200, 86400)
# Points aimed at when choosing a step: a chart as wide as a screen.
TARGET_POINTS = 300
LONGEST_RANGE = 20 * 366 * 86400
MAX_STEP = 366 * 86400


@dataclasses.dataclass(frozen=True)
class TimeRange:
    since: float
    until: float


def parse_time(text: str, now: float, name: str) -> float:
    """ISO 8601 (UTC unless it says otherwise), ``now``, or relative to now: -30m, -24h, -7d."""
    value = text.strip()
    if value == "now":
        return now
    match = RELATIVE.fullmatch(value)
    if match:
        return now - float(match.group(1)) * UNIT_SECONDS[match.group(2)]
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{name}: {value[:40]!r} is neither an ISO 8601 time (2026-01-15T08:30:00Z) "
            "nor a relative one (-30m, -24h, -7d) nor now"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    try:
        return moment.timestamp()
    except (OverflowError, OSError):
        raise ValueError(f"{name}: {value[:40]!r} is out of range") from None


def parse_range(args: Mapping[str, str], now: float, default_since: str) -> TimeRange:
    since = parse_time(args.get("since", default_since), now, "since")
    until = parse_time(args.get("until", "now"), now, "until")
    if since >= until:
        raise ValueError("since must be earlier than until")
    if until - since > LONGEST_RANGE:
        raise ValueError("the range is longer than 20 years")
    return TimeRange(since, until)


def parse_step(text: str | None, span: float) -> int:
    """Seconds per point: as asked, or the smallest nice step giving about TARGET_POINTS."""
    if text is None:
        wanted = span / TARGET_POINTS
        step = next((s for s in NICE_STEPS if s >= wanted), NICE_STEPS[-1])
    else:
        try:
            step = int(text.strip(), 10)
        except ValueError:
            raise ValueError(f"step: expected a whole number of seconds, got {text[:40]!r}") from None
        if not 1 <= step <= MAX_STEP:
            raise ValueError(f"step: expected 1 to {MAX_STEP} seconds, got {step}")
    points = math.ceil(span / step)
    if points > MAX_POINTS:
        raise ValueError(
            f"{points} points per series at a step of {step} s; at most {MAX_POINTS}: "
            "ask for a longer step or a shorter range"
        )
    return step


def parse_fields(
    sensor_names: list[str], field_names: list[str], sensors: Mapping[str, Series], *, need_sensor: bool
) -> list[tuple[str, str]]:
    """(sensor, field) pairs asked for; every field of the sensors when none is named."""
    if need_sensor and not sensor_names:
        raise ValueError(f"sensor is missing; known: {', '.join(sensors)}")
    for name in sensor_names:
        if name not in sensors:
            raise ValueError(f"unknown sensor {name[:40]!r}; known: {', '.join(sensors)}")
    chosen = [sensors[name] for name in dict.fromkeys(sensor_names)] or list(sensors.values())
    pairs = []
    for field in dict.fromkeys(field_names):
        matching = [(sensor.name, field) for sensor in chosen if field in {f.key for f in sensor.fields}]
        if not matching:
            known = sorted({f.key for sensor in chosen for f in sensor.fields})
            raise ValueError(
                f"unknown field {field[:60]!r} for {', '.join(s.name for s in chosen)}; known: {', '.join(known)}"
            )
        pairs.extend(matching)
    if not field_names:
        pairs = [(sensor.name, f.key) for sensor in chosen for f in sensor.fields]
    return pairs


def check_known(args: Mapping[str, str], known: tuple[str, ...]) -> None:
    unknown = [name for name in args if name not in known]
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0][:40]!r}; the parameters are {', '.join(known)}")
