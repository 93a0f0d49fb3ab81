"""Pure parts of the retrievers, checked on literal input against published figures."""

import math

import pytest

from enviro_sensor.sensors import quantities
from enviro_sensor.sensors.aht10 import AHT10Error, decode
from enviro_sensor.sensors.base import validate
from enviro_sensor.sensors.bmp280 import Calibration, compensate_pressure, compensate_temperature
from enviro_sensor.sensors.compensation import (
    RecentAverage,
    compensated_humidity,
    compensated_temperature,
    dew_point,
)
from enviro_sensor.sensors.config import parse_i2c_sensors
from enviro_sensor.sensors.mics6814 import resistance

# Bosch BMP280 datasheet BST-BMP280-DS001, the worked example of the
# compensation formulas: trimming values and
# raw readings, with the expected results 25.08 C and 100653.27 Pa (the
# 64-bit integer result; the double-precision formulas agree within 0.1 Pa).
DATASHEET_CALIBRATION = Calibration(
    27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000
)


def test_bmp280_compensation_matches_the_datasheet_example():
    temperature, t_fine = compensate_temperature(DATASHEET_CALIBRATION, 519888)
    pressure = compensate_pressure(DATASHEET_CALIBRATION, 415148, t_fine)
    assert temperature == pytest.approx(25.08, abs=0.005)
    assert pressure == pytest.approx(100653.27, abs=0.5)


def test_bmp280_calibration_is_read_little_endian():
    block = bytes.fromhex("706b43673efc") + bytes(18)
    calibration = Calibration.from_registers(block)
    assert (calibration.t1, calibration.t2, calibration.t3) == (27504, 26435, -962)


def test_aht10_conversion_formulas():
    # AHT10 datasheet section 6: RH = S_RH / 2^20 * 100 %, T = S_T / 2^20 * 200 - 50.
    # S_RH = 0x80000 (half scale: 50 %), S_T = 0x60000 (3/8 scale: 25 C).
    frame = bytes([0x1C, 0x80, 0x00, 0x06, 0x00, 0x00])
    temperature, humidity = decode(frame)
    assert humidity == pytest.approx(50.0)
    assert temperature == pytest.approx(25.0)
    with pytest.raises(AHT10Error):
        decode(frame[:5])


def test_gas_resistance_from_the_divider():
    # Enviro+ schematic: 56 kOhm load on 3.3 V; 1.65 V is the midpoint.
    assert resistance(1.65) == pytest.approx(56000.0)
    assert math.isinf(resistance(3.3))


def test_temperature_compensation_as_the_vendor_examples():
    # raw - (cpu - raw) / factor
    assert compensated_temperature(30.0, 52.5, 2.25) == pytest.approx(20.0)


def test_humidity_compensation_keeps_the_dew_point():
    raw_t, raw_rh = 30.0, 40.0
    room = 22.0
    corrected = compensated_humidity(raw_t, raw_rh, room)
    assert corrected > raw_rh  # cooler air, same water: relatively more humid
    assert dew_point(room, corrected) == pytest.approx(dew_point(raw_t, raw_rh), abs=1e-6)
    assert compensated_humidity(30.0, 95.0, 10.0) == 100.0


def test_recent_average_uses_only_samples_taken():
    window = RecentAverage(3)
    assert window.add(60.0) == 60.0  # not padded with copies of the first
    window.add(50.0)
    window.add(40.0)
    assert window.add(30.0) == pytest.approx(40.0)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "missing"),
        ("21", "not_a_number"),
        (True, "not_a_number"),
        (math.nan, "not_finite"),
        (math.inf, "not_finite"),
        (86.0, "out_of_range"),
        (-41, "out_of_range"),
    ],
)
def test_validation_rejects(value, reason):
    rejections = validate((quantities.temperature(),), {"temperature_celsius": value})
    assert [(r.field, r.reason) for r in rejections] == [("temperature_celsius", reason)]


def test_validation_accepts_in_range_numbers():
    assert (
        validate(
            (quantities.temperature(), quantities.humidity()),
            {"temperature_celsius": 21, "humidity_percent": 0.0},
        )
        == []
    )


def test_i2c_sensor_list():
    # 0x76 is free on bus 3; on bus 1 the board's BME280 holds it.
    specs = parse_i2c_sensors(" aht10@0x38, bmp280@0x76:3 ,bmp280@0x77")
    assert [(s.name, s.kind, s.address, s.bus) for s in specs] == [
        ("aht10", "aht10", 0x38, 1),
        ("bmp280_0x76", "bmp280", 0x76, 3),
        ("bmp280_0x77", "bmp280", 0x77, 1),
    ]
    assert parse_i2c_sensors("") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sht31@0x44", "unknown sensor kind 'sht31'"),
        ("aht10@0x99", "outside 0x08..0x77"),
        ("aht10@zz", "bad address 'zz'"),
        ("aht10", "expected kind@address"),
        ("aht10@0x38,bmp280@0x38", "bmp280@0x38 collides with another aht10 at 0x38 on bus 1"),
        # Two sensors at one address on one bus, the board's own parts included.
        ("aht10@0x76", "aht10@0x76 collides with the board's bme280 at 0x76 on bus 1"),
        ("bmp280@0x49", "collides with the board's mics6814 at 0x49"),
        ("bme280@0x77", "bme280 is on the Enviro\\+ itself"),
    ],
)
def test_i2c_sensor_list_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_i2c_sensors(text)
