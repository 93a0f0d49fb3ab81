"""The BME680: its emulation from the datasheet's formulas, read by Pimoroni's driver.

The datasheet (BST-BME680-DS001) gives formulas and tables, not worked
examples: the emulation encodes with its floating-point compensation and
gas range tables, Pimoroni's driver decodes with Bosch's integer code, and
the two must agree within the sensor's resolution. The driver polls with
``time.sleep``: a measurement costs tens of milliseconds of real time.
"""

from __future__ import annotations

import pytest

from enviro_sensor.hardware.virtual import VirtualBoard
from enviro_sensor.hardware.virtual.chips import bme680 as chip
from enviro_sensor.hardware.virtual.clock import ManualClock
from enviro_sensor.sensors import registry
from enviro_sensor.sensors.bme680 import HEATER_MS, BME680Error
from enviro_sensor.sensors.config import Sensor
from enviro_sensor.settings import SettingsError, load_settings
from tests.sensor_support import PolledApp, kind_options
from tests.virtual_support import MORNING


def test_gas_range_tables_at_mid_scale():
    # At ADC 512 the resistance is the range's const_array2 entry times
    # const_array1 (datasheet table 16): 125 kohm in range 6.
    assert chip.gas_resistance(chip.TYPICAL, 512, 6) == pytest.approx(125_000.0)
    assert chip.gas_resistance(chip.TYPICAL, 512, 0) == pytest.approx(8_000_000.0)
    adc, gas_range = chip.encode_gas(chip.TYPICAL, 62_000.0)
    assert gas_range == 7 and chip.gas_resistance(chip.TYPICAL, adc, gas_range) == pytest.approx(
        62_000, rel=0.001
    )


def test_heater_time_encoding():
    # gas_wait: 6 bits times 1, 4, 16 or 64 (datasheet 5.3.3.3).
    assert chip.heater_ms(0x1E) == 30
    assert chip.heater_ms(0x59) == 100  # 25 x 4


def test_calibration_registers_round_trip_through_the_driver():
    import bme680.constants as constants

    data = constants.CalibrationData()
    data.set_from_array(list(chip.TYPICAL.block1() + chip.TYPICAL.block2()))
    cal = chip.TYPICAL
    assert (data.par_t1, data.par_t2, data.par_t3) == (cal.t1, cal.t2, cal.t3)
    assert (data.par_p1, data.par_p2, data.par_p9, data.par_p10) == (cal.p1, cal.p2, cal.p9, cal.p10)
    assert (data.par_h1, data.par_h2, data.par_h7) == (cal.h1, cal.h2, cal.h7)
    assert (data.par_gh1, data.par_gh2, data.par_gh3) == (cal.gh1, cal.gh2, cal.gh3)


@pytest.fixture
def board():
    board = VirtualBoard(seed=3, clock=ManualClock(MORNING))
    yield board
    board.close()


def reader_on(board):
    kind = registry.kinds()["bme680"]
    board.provide_i2c_chip(kind.emulation, 0x77)  # in place of the default BMP280
    return kind.reader(Sensor("bme680", kind, 0x77, 1, "i2c"), kind_options(kind), board.clock)


def test_the_driver_reads_the_room(board):
    reader = reader_on(board)
    reader.open(board)
    values = reader.read()
    room = board.environment.conditions()
    assert values["temperature_celsius"] == pytest.approx(room.room_temperature_celsius, abs=0.01)
    # Bosch's integer pressure code and the datasheet's float formulas differ
    # by a few pascals, far below the part's +-0.6 hPa accuracy.
    assert values["pressure_hectopascals"] == pytest.approx(room.pressure_pascals / 100, abs=0.1)
    # Likewise for humidity: hundredths of a percent against +-3 %RH.
    assert values["humidity_percent"] == pytest.approx(room.room_humidity_percent, abs=0.05)
    ohms = chip.CLEAN_GAS_OHMS * (chip.CLEAN_TVOC_PPB / board.environment.tvoc_ppb()) ** chip.GAS_EXPONENT
    assert values["gas_resistance_ohms"] == pytest.approx(ohms, rel=0.002)
    bme = board.i2c_bus(1).chip(0x77)
    assert chip.heater_ms(bme.registers[chip.REG_GAS_WAIT_0]) == HEATER_MS
    # The measurement lasts its datasheet time: oversampling cycles and the heater.
    assert bme.measurement_seconds() == pytest.approx((14 * 1963 + 477 * 9 + 1000) / 1e6 + HEATER_MS / 1000)


def test_faults(board):
    reader = reader_on(board)
    reader.open(board)
    board.faults.set("bme680", "stuck")
    with pytest.raises(BME680Error, match="did not finish"):
        reader.read()
    board.faults.set("bme680", "wrong-id")
    with pytest.raises(BME680Error, match="Invalid CHIP ID: 0x60"):
        reader.open(board)
    board.faults.set("bme680", "absent")
    with pytest.raises(BME680Error):
        reader.open(board)


def test_listed_at_0x77_in_place_of_the_bmp280():
    with pytest.raises(SettingsError, match="bme680@0x76 collides with the board's bme280"):
        load_settings({"ENVIRO_I2C_SENSORS": "bme680@0x76"})
    polled = PolledApp(environ={"ENVIRO_I2C_SENSORS": "aht10@0x38,bme680@0x77"})
    try:
        polled.poll("i2c")
        body = polled.client.get("/api/sensors/i2c/bme680").get_json()["result"]
        assert body["status"] == "ok"
        assert set(body["values"]) == {
            "temperature_celsius",
            "pressure_hectopascals",
            "humidity_percent",
            "gas_resistance_ohms",
        }
        text = polled.client.get("/metrics").get_data(as_text=True)
        assert 'enviro_gas_resistance_ohms{channel="voc",sensor="bme680"}' in text
        polled.board.faults.set("bme680", "out-of-range")
        polled.poll("i2c")
        text = polled.client.get("/metrics").get_data(as_text=True)
        assert 'reason="out_of_range",sensor="bme680"' in text
    finally:
        polled.close()
