"""The US EPA AQI and the PM NowCast against the EPA's tables, rules and examples.

Figures from EPA's Technical Assistance Document for the Reporting of Daily
Air Quality (EPA-454/B-24-002, May 2024): Table 6's breakpoints with the
2024 PM2.5 revision, its equation, truncation of the concentration first
(PM2.5 to 0.1 ug/m3, PM10 to 1 ug/m3) and rounding of the index; and the
NowCast as EPA's NowCast fact sheet and AirNow describe it.
"""

from __future__ import annotations

import pytest

from enviro_sensor.sensors import aqi


def test_the_tads_worked_example_pm2_5_of_35_9_is_an_aqi_of_102():
    # The TAD's worked example since the 2012 table (the 2024 revision kept
    # the 35.5-55.4 row): 24-hour PM2.5 of 35.9 ug/m3 lies in 35.5-55.4 ->
    # 101-150: (150-101)/(55.4-35.5) * (35.9-35.5) + 101 = 101.98 -> 102.
    assert aqi.index(35.9, aqi.PM2_5) == 102
    assert aqi.category_name(102) == "Unhealthy for Sensitive Groups"


@pytest.mark.parametrize(
    ("concentration", "expected"),
    [
        # Every 2024 PM2.5 breakpoint maps to its row's index exactly.
        (0.0, 0),
        (9.0, 50),
        (9.1, 51),
        (35.4, 100),
        (35.5, 101),
        (55.4, 150),
        (55.5, 151),
        (125.4, 200),
        (125.5, 201),
        (225.4, 300),
        (225.5, 301),
        (325.4, 500),
    ],
)
def test_pm2_5_breakpoints_of_2024(concentration, expected):
    assert aqi.index(concentration, aqi.PM2_5) == expected


@pytest.mark.parametrize(
    ("concentration", "expected"),
    [
        (0, 0),
        (54, 50),
        (55, 51),
        (154, 100),
        (155, 101),
        (254, 150),
        (255, 151),
        (354, 200),
        (355, 201),
        (424, 300),
        (425, 301),
        (604, 500),
    ],
)
def test_pm10_breakpoints_unchanged(concentration, expected):
    assert aqi.index(concentration, aqi.PM10) == expected


def test_the_2024_revision_moved_the_good_moderate_line_from_12_to_9():
    # 12.0 was the top of Good before 2024; now it is Moderate:
    # (100-51)/(35.4-9.1) * (12.0-9.1) + 51 = 56.4 -> 56.
    assert aqi.index(12.0, aqi.PM2_5) == 56
    assert aqi.category_name(aqi.index(12.0, aqi.PM2_5)) == "Moderate"
    assert aqi.category_name(aqi.index(9.0, aqi.PM2_5)) == "Good"


def test_the_concentration_is_truncated_not_rounded_before_the_equation():
    # 9.09 truncates to 9.0 (Good, 50); rounding would give 9.1 (Moderate, 51).
    assert aqi.index(9.09, aqi.PM2_5) == 50
    # 54.9 ug/m3 of PM10 truncates to 54 (50), not 55 (51).
    assert aqi.index(54.9, aqi.PM10) == 50
    assert aqi.truncate(35.49, 1) == 35.4
    assert aqi.truncate(0.3, 1) == 0.3  # 0.3 * 10 is 3.0000000000000004 in binary


def test_the_index_is_rounded_to_the_nearest_integer():
    # PM2.5 20.0: (100-51)/(35.4-9.1) * (20.0-9.1) + 51 = 71.308 -> 71
    assert aqi.index(20.0, aqi.PM2_5) == 71
    # PM2.5 4.5: 50/9 * 4.5 = 25.0; PM2.5 4.6: 25.56 -> 26
    assert aqi.index(4.5, aqi.PM2_5) == 25
    assert aqi.index(4.6, aqi.PM2_5) == 26


def test_beyond_the_table_the_last_rows_line_goes_on():
    # 425.4 ug/m3 PM2.5: 301 + (500-301)/(325.4-225.5) * (425.4-225.5) = 699.2 -> 699
    assert aqi.index(425.4, aqi.PM2_5) == 699
    assert aqi.category_name(699) == "Hazardous"
    # The PMS5003's maximum, 1000 ug/m3, stays within the declared field range.
    assert aqi.index(1000, aqi.PM2_5) <= 2000


def test_categories_follow_the_index():
    names = [aqi.category_name(value) for value in (0, 50, 51, 100, 101, 150, 151, 200, 201, 300, 301, 900)]
    assert names == [
        "Good", "Good", "Moderate", "Moderate",
        "Unhealthy for Sensitive Groups", "Unhealthy for Sensitive Groups",
        "Unhealthy", "Unhealthy", "Very Unhealthy", "Very Unhealthy", "Hazardous", "Hazardous",
    ]  # fmt: skip
    assert [aqi.category(value) for value in (50, 51, 101, 151, 201, 301)] == [1, 2, 3, 4, 5, 6]


# -- NowCast ---------------------------------------------------------------------


def test_steady_air_gives_the_twelve_hour_average():
    cast = aqi.nowcast([10.0] * 12)
    assert cast is not None
    assert cast.weight == 1.0
    assert cast.concentration == pytest.approx(10.0)
    assert cast.hours == 12


def test_a_single_hour_pulse_is_weighed_at_the_clamp():
    # A pulse of 71 ug/m3 in the last hour, zero before (the illustration
    # often given for the NowCast): w* = 0/71 = 0, clamped to 0.5;
    # 71 / (1 + 1/2 + ... + 1/2^11) = 71 / 1.99951171875 = 35.5087.
    cast = aqi.nowcast([71.0] + [0.0] * 11)
    assert cast is not None
    assert cast.weight == 0.5
    assert cast.concentration == pytest.approx(71 / 1.99951171875)
    # Truncated to 35.5, the bottom of "Unhealthy for Sensitive Groups".
    assert aqi.index(cast.concentration, aqi.PM2_5) == 101


def test_the_weight_is_the_ratio_of_lowest_to_highest_above_the_clamp():
    # min/max = 8/10 = 0.8: sum(0.8^i * c_i) / sum(0.8^i), c1 = 10 most recent.
    hourly = [10.0, 9.0, 8.0] + [9.0] * 9
    cast = aqi.nowcast(hourly)
    assert cast is not None
    assert cast.weight == pytest.approx(0.8)
    expected = sum(0.8**i * c for i, c in enumerate(hourly)) / sum(0.8**i for i in range(12))
    assert cast.concentration == pytest.approx(expected)


def test_a_worked_case_by_hand():
    # Rising smoke, most recent first: 40, 30, 20, 10 and 8 hours of 10.
    # w* = 10/40 = 0.25 -> 0.5. Numerator: 40 + 15 + 5 + 1.25 + 10*(1/16+...+1/2048)
    # = 61.25 + 10 * 0.12451171875 = 62.4951171875; denominator 1.99951171875.
    cast = aqi.nowcast([40.0, 30.0, 20.0] + [10.0] * 9)
    assert cast is not None
    assert cast.concentration == pytest.approx(62.4951171875 / 1.99951171875)  # 31.2552...
    assert aqi.truncate(cast.concentration, 1) == 31.2
    # (100-51)/(35.4-9.1) * (31.2-9.1) + 51 = 92.17 -> 92
    assert aqi.index(cast.concentration, aqi.PM2_5) == 92


def test_missing_hours_are_left_out_of_both_sums():
    # Hours 2 and 5 missing: their weights go too, so steady air stays steady.
    cast = aqi.nowcast([12.0, None, 12.0, 12.0, None] + [12.0] * 7)
    assert cast is not None
    assert cast.concentration == pytest.approx(12.0)
    assert cast.hours == 10
    # With a trend: weights of the present hours only.
    hourly = [20.0, None, 10.0]
    cast = aqi.nowcast(hourly)
    assert cast is not None
    assert cast.weight == 0.5
    assert cast.concentration == pytest.approx((20.0 + 0.25 * 10.0) / (1 + 0.25))


@pytest.mark.parametrize(
    "recent", [[None, None, 10.0], [10.0, None, None], [None, 10.0, None], [None, None, None]]
)
def test_no_nowcast_without_two_of_the_three_most_recent_hours(recent):
    assert aqi.nowcast([*recent, *([10.0] * 9)]) is None


def test_no_nowcast_from_a_single_hour():
    assert aqi.nowcast([10.0]) is None
    assert aqi.nowcast([]) is None


def test_two_of_the_three_most_recent_hours_suffice():
    assert aqi.nowcast([None, 10.0, 10.0]) is not None
    assert aqi.nowcast([10.0, 10.0]) is not None


def test_only_twelve_hours_count_and_clean_air_is_zero():
    cast = aqi.nowcast([5.0] * 12 + [500.0] * 5)
    assert cast is not None
    assert cast.concentration == pytest.approx(5.0)
    zero = aqi.nowcast([0.0] * 12)
    assert zero is not None
    assert zero.concentration == 0.0
    assert aqi.index(zero.concentration, aqi.PM2_5) == 0
