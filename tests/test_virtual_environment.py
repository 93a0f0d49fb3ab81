"""The environment model: plausible indoor values that move, the same for a seed."""

from __future__ import annotations

import itertools
import math

import pytest

from enviro_sensor.hardware.virtual.clock import ManualClock
from enviro_sensor.hardware.virtual.environment import (
    BOARD_HEAT_FACTOR,
    Conditions,
    Environment,
    relative_humidity_at,
    saturation_vapour_hpa,
)

DAY = 86_400
# A UTC midnight, so the model's local hours are the hours after it.
MIDNIGHT = 1_699_920_000.0
FIVE_MINUTES = 300


def week(seed: int) -> list[Conditions]:
    """A week of conditions every five minutes, from midnight."""
    environment = Environment(ManualClock(MIDNIGHT), seed)
    return [environment.conditions(MIDNIGHT + i * FIVE_MINUTES) for i in range(7 * DAY // FIVE_MINUTES)]


@pytest.fixture(scope="module", params=[1, 2, 3])
def samples(request):
    return week(request.param)


def values(samples, field):
    return [getattr(c, field) for c in samples]


def days(samples):
    per_day = DAY // FIVE_MINUTES
    return [samples[i : i + per_day] for i in range(0, len(samples), per_day)]


def test_same_seed_same_instant_same_conditions():
    a = Environment(ManualClock(MIDNIGHT + 12_345.6), seed=5)
    b = Environment(ManualClock(MIDNIGHT + 12_345.6), seed=5)
    assert a.conditions() == b.conditions()
    assert a.conditions(MIDNIGHT + 99) == b.conditions(MIDNIGHT + 99)


def test_another_seed_gives_another_room():
    instant = MIDNIGHT + 15 * 3600
    first = Environment(ManualClock(), seed=1).conditions(instant)
    second = Environment(ManualClock(), seed=2).conditions(instant)
    assert first.room_temperature_celsius != second.room_temperature_celsius
    assert first.pressure_pascals != second.pressure_pascals


def test_conditions_follow_the_clock():
    clock = ManualClock(MIDNIGHT)
    environment = Environment(clock, seed=1)
    before = environment.conditions()
    clock.advance(6 * 3600)
    assert environment.conditions() == environment.conditions(MIDNIGHT + 6 * 3600)
    assert environment.conditions() != before


def test_every_value_is_finite(samples):
    for conditions in samples:
        for value in vars(conditions).values():
            assert math.isfinite(value)


def test_room_temperature_cycles_daily_within_19_to_24(samples):
    room = values(samples, "room_temperature_celsius")
    assert min(room) >= 18.5 and max(room) <= 24.5
    for day in days(samples):
        by_hour = [c.room_temperature_celsius for c in day]
        assert max(by_hour) - min(by_hour) > 2.5
        # Cooler before dawn than mid-afternoon.
        assert by_hour[3 * 12] < by_hour[15 * 12]


def test_temperature_moves_smoothly():
    environment = Environment(ManualClock(), seed=1)
    for i in range(0, DAY, 600):
        now = environment.room_temperature(MIDNIGHT + i)
        second_later = environment.room_temperature(MIDNIGHT + i + 1)
        assert abs(second_later - now) < 0.01


def test_humidity_stays_indoor_and_moves_against_temperature(samples):
    room = values(samples, "room_humidity_percent")
    assert min(room) >= 30 and max(room) <= 60
    # Negative correlation between room temperature and relative humidity.
    temperature = values(samples, "room_temperature_celsius")
    mean_t, mean_h = sum(temperature) / len(temperature), sum(room) / len(room)
    covariance = sum((t - mean_t) * (h - mean_h) for t, h in zip(temperature, room, strict=True))
    assert covariance < 0


def test_pressure_drifts_slowly_around_1013_hpa(samples):
    pressure = [p / 100 for p in values(samples, "pressure_pascals")]
    assert min(pressure) > 995 and max(pressure) < 1030
    assert max(pressure) - min(pressure) > 2  # it does move over a week
    hourly = pressure[::12]
    assert max(abs(b - a) for a, b in itertools.pairwise(hourly)) < 2.5


def test_light_follows_day_and_night(samples):
    for day in days(samples):
        night = [c.illuminance_lux for c in day[: 6 * 12]]  # 00:00-06:00
        noon = [c.illuminance_lux for c in day[11 * 12 : 14 * 12]]
        assert night == [0.0] * len(night)
        assert min(noon) > 100 and max(noon) < 2000


def test_someone_waves_at_the_proximity_sensor_now_and_then():
    environment = Environment(ManualClock(), seed=1)
    counts = [environment.proximity(MIDNIGHT + second) for second in range(DAY)]
    assert all(0 <= count <= 2047 for count in counts)
    near = sum(count > 300 for count in counts)
    # Waves of 2-6 s a few dozen times a day: seconds, not hours.
    assert 10 < near < 600
    assert sorted(counts)[len(counts) // 2] < 10  # mostly nothing there
    assert all(count < 10 for count in counts[: 6 * 3600])  # nobody waves at night


def test_cooking_raises_particulates_which_then_decay(samples):
    pm2_5 = values(samples, "pm2_5_ugm3")
    assert min(pm2_5) > 2.5
    assert max(pm2_5) < 300
    # Small hours: only the 3-10 ug/m3 baseline.
    for day in days(samples):
        small_hours = [c.pm2_5_ugm3 for c in day[1 * 12 : 6 * 12]]
        assert max(small_hours) < 11
    peak = max(range(len(pm2_5)), key=pm2_5.__getitem__)
    assert 50 <= pm2_5[peak] <= 300
    # Tens of minutes later it has fallen a long way; within hours it is back near baseline.
    assert pm2_5[peak + 6] < 0.8 * pm2_5[peak]
    assert pm2_5[peak + 48] < 20
    for c in samples:
        assert c.pm1_0_ugm3 <= c.pm2_5_ugm3 <= c.pm10_ugm3


def test_gas_resistances_are_plausible_and_respond_to_cooking(samples):
    for field, low, high in (
        ("oxidising_ohms", 5e3, 100e3),
        ("reducing_ohms", 50e3, 1.5e6),
        ("nh3_ohms", 20e3, 1e6),
    ):
        series = values(samples, field)
        assert low < min(series) and max(series) < high
    peak = max(samples, key=lambda c: c.pm2_5_ugm3)
    calm = [c for c in samples if c.pm2_5_ugm3 < 8]
    assert peak.reducing_ohms < min(c.reducing_ohms for c in calm)


def test_cpu_warms_the_board_as_the_vendor_compensation_assumes(samples):
    for c in samples:
        assert 45 <= c.cpu_temperature_celsius <= 60
        assert c.temperature_celsius > c.room_temperature_celsius + 5
        # Pimoroni's compensation: raw - (cpu - raw) / factor.
        compensated = (
            c.temperature_celsius - (c.cpu_temperature_celsius - c.temperature_celsius) / BOARD_HEAT_FACTOR
        )
        assert compensated == pytest.approx(c.room_temperature_celsius, abs=1e-9)
        # Warmer air holding the same water has a lower relative humidity.
        assert c.humidity_percent < c.room_humidity_percent


def test_relative_humidity_conversion_keeps_the_water_content():
    # Magnus formula (WMO): 6.112 hPa at 0 C, 23.4 hPa at 20 C.
    assert saturation_vapour_hpa(0) == pytest.approx(6.112)
    assert saturation_vapour_hpa(20) == pytest.approx(23.37, abs=0.05)
    warmed = relative_humidity_at(50, 20, 30)
    assert warmed * saturation_vapour_hpa(30) == pytest.approx(50 * saturation_vapour_hpa(20))


def test_the_day_follows_the_utc_offset():
    utc = Environment(ManualClock(), seed=1)
    plus_two = Environment(ManualClock(), seed=1, utc_offset_seconds=2 * 3600)
    five_utc = MIDNIGHT + 5 * 3600
    assert plus_two.local_hour(five_utc) == pytest.approx(7)
    assert utc.illuminance(five_utc) == 0  # 05:00: still dark
    assert plus_two.illuminance(five_utc) > 0  # 07:00 there: up, lamps on


def test_conditions_without_room_values_describe_an_unheated_board():
    c = Conditions(
        temperature_celsius=21.0,
        pressure_pascals=101325.0,
        humidity_percent=40.0,
        illuminance_lux=0.0,
        proximity=0,
        oxidising_ohms=1.0,
        reducing_ohms=1.0,
        nh3_ohms=1.0,
        pm1_0_ugm3=0.0,
        pm2_5_ugm3=0.0,
        pm10_ugm3=0.0,
        cpu_temperature_celsius=50.0,
    )
    assert (c.room_temperature_celsius, c.room_humidity_percent) == (21.0, 40.0)
