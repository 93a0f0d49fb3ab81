"""The vendor drivers that sleep through a conversion instead of polling for its end.

``enviro_sensor.sensors.timed_ads1015.TimedADS1015`` and ``enviro_sensor.sensors.timed_bme280.TimedBME280``
subclass ads1015 and bme280: each must read exactly what the vendor's own
driver reads from the same virtual chip at the same board time, with fewer
transactions on the bus and one wait per conversion.
"""

from __future__ import annotations

import time

import ads1015
import bme280
import pytest

from enviro_sensor.sensors.mics6814 import CHANNELS, GAIN
from enviro_sensor.sensors.timed_ads1015 import TimedADS1015
from enviro_sensor.sensors.timed_bme280 import MEASUREMENT_SECONDS, TimedBME280

ADS1015_ADDRESS, BME280_ADDRESS = 0x49, 0x76


class Sleeps:
    """An injected sleep: waits in real time like the vendor's, and remembers each wait."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        time.sleep(seconds)


def set_up_adc(adc: ads1015.ADS1015) -> None:
    """As the gas reader sets it up."""
    adc.set_mode("single")
    adc.set_programmable_gain(GAIN)
    adc.set_sample_rate(1600)


def transactions(board) -> int:
    return board.bus.transactions_by_address.get(ADS1015_ADDRESS, 0)


def test_the_timed_ads1015_reads_what_the_vendors_driver_reads(board):
    vendor = ads1015.ADS1015(i2c_addr=ADS1015_ADDRESS, i2c_dev=board.i2c_bus())
    sleeps = Sleeps()
    timed = TimedADS1015(sleeps, i2c_addr=ADS1015_ADDRESS, i2c_dev=board.i2c_bus())
    set_up_adc(vendor)
    set_up_adc(timed)
    # The board's clock stands still: both convert the same voltages.
    for _channel, mux in CHANNELS:
        before = transactions(board)
        expected = vendor.get_voltage(mux)
        vendor_transactions = transactions(board) - before
        before = transactions(board)
        assert timed.get_voltage(mux) == expected  # the same float, not just close
        assert transactions(board) - before < vendor_transactions
        assert transactions(board) - before == 6  # input, start, one look at OS, the result
    # One wait per conversion, its length the conversion's at 1600 SPS with the datasheet's 10 %.
    assert sleeps.seconds == [pytest.approx(1.1 / 1600)] * len(CHANNELS)


def test_the_timed_ads1015_still_waits_for_a_conversion_that_runs_late(board):
    timed = TimedADS1015(Sleeps(), i2c_addr=ADS1015_ADDRESS, i2c_dev=board.i2c_bus())
    set_up_adc(timed)
    board.faults.set("ads1015", "stuck")  # OS never comes back
    with pytest.raises(ads1015.ADS1015TimeoutError):
        timed.wait_for_conversion(timeout=0.05)


def test_the_gas_reader_publishes_the_same_resistances(board, clock):
    from enviro_sensor.sensors.mics6814 import resistance

    vendor = ads1015.ADS1015(i2c_addr=ADS1015_ADDRESS, i2c_dev=board.i2c_bus())
    set_up_adc(vendor)
    timed = TimedADS1015(time.sleep, i2c_addr=ADS1015_ADDRESS, i2c_dev=board.i2c_bus())
    set_up_adc(timed)
    for _ in range(5):
        clock.advance(37.0)
        assert [resistance(timed.get_voltage(mux)) for _c, mux in CHANNELS] == [
            resistance(vendor.get_voltage(mux)) for _c, mux in CHANNELS
        ]


def test_the_timed_bme280_reads_what_the_vendors_driver_reads(board, clock):
    vendor = bme280.BME280(i2c_addr=BME280_ADDRESS, i2c_dev=board.i2c_bus())
    sleeps = Sleeps()
    timed = TimedBME280(sleeps, i2c_addr=BME280_ADDRESS, i2c_dev=board.i2c_bus())
    for driver in (vendor, timed):
        driver.setup(
            mode="forced", temperature_oversampling=1, pressure_oversampling=1, humidity_oversampling=1
        )
    for _ in range(3):
        clock.advance(60.0)
        before = board.bus.transactions_by_address.get(BME280_ADDRESS, 0)
        vendor.update_sensor()
        vendor_transactions = board.bus.transactions_by_address.get(BME280_ADDRESS, 0) - before
        sleeps.seconds.clear()
        before = board.bus.transactions_by_address.get(BME280_ADDRESS, 0)
        timed.update_sensor()
        # The same measurement, compensated the same way.
        assert (timed.temperature, timed.pressure, timed.humidity) == (
            vendor.temperature,
            vendor.pressure,
            vendor.humidity,
        )
        # Start, one look at the status once the datasheet's time is up, the data.
        assert board.bus.transactions_by_address.get(BME280_ADDRESS, 0) - before == 4 < vendor_transactions
        assert sleeps.seconds == [MEASUREMENT_SECONDS]
    assert round(MEASUREMENT_SECONDS, 6) == 0.0093  # datasheet 9.1, x1 oversampling
