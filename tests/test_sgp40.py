"""The SGP40: its emulation against the datasheet, read by Sensirion's driver, indexed by its algorithm.

Figures from the SGP40 datasheet (version 1.2): the default compensation
words with their CRCs (0x8000 0xA2 for 50 %RH, 0x6666 0x93 for 25 C,
section 4.7), the self-test answer 0xD400. Time is a ManualClock.
"""

from __future__ import annotations

import pytest
from sensirion_i2c_driver.errors import I2cChecksumError

from enviro_sensor.hardware.virtual import VirtualBoard
from enviro_sensor.hardware.virtual.chips import sgp40 as chip
from enviro_sensor.hardware.virtual.chips.sensirion import frame_words
from enviro_sensor.hardware.virtual.clock import ManualClock
from enviro_sensor.sensors import registry
from enviro_sensor.sensors.base import WarmingUp
from enviro_sensor.sensors.config import Sensor
from enviro_sensor.sensors.sgp40 import SGP40Error
from tests.sensor_support import PolledApp, kind_options
from tests.virtual_support import MORNING


def test_default_compensation_words_from_the_datasheet():
    assert frame_words([0x8000]) == bytes.fromhex("8000 a2")
    assert frame_words([0x6666]) == bytes.fromhex("6666 93")


def test_the_raw_signal_falls_as_vocs_rise():
    assert chip.sraw_ticks(100.0) == 30000
    assert chip.sraw_ticks(1000.0) < chip.sraw_ticks(300.0) < chip.sraw_ticks(100.0)


@pytest.fixture
def board():
    clock = ManualClock(MORNING, real_time_waits=False)
    board = VirtualBoard(seed=3, clock=clock)
    yield board
    board.close()


def reader_on(board, interval=5.0):
    kind = registry.kinds()["sgp40"]
    board.provide_i2c_chip(kind.emulation, 0x59)
    options = kind_options(kind, overrides={"i2c_interval": interval})
    return kind.reader(Sensor("sgp40", kind, 0x59, 1, "i2c"), options, board.clock)


def test_the_index_waits_out_the_blackout_then_follows_the_air(board):
    reader = reader_on(board)
    reader.open(board)
    sgp = board.i2c_bus(1).chip(0x59)
    warming = 0
    values = None
    for _ in range(20):
        board.clock.advance(5.0)
        try:
            values = reader.read()
            break
        except WarmingUp:
            warming += 1
    # The algorithm's 45 s blackout at one sample every 5 s.
    assert 8 <= warming <= 10
    assert values is not None and 1 <= values["voc_index"] <= 500
    assert values["voc_raw_ticks"] == chip.sraw_ticks(board.environment.tvoc_ppb())
    # The driver asked with the datasheet's defaults: no humidity compensation.
    assert sgp.compensation == (0x8000, 0x6666)
    assert sgp.heater_on
    for _ in range(200):  # about 17 minutes of steady air: the index settles near 100
        board.clock.advance(5.0)
        values = reader.read()
    assert 90 <= values["voc_index"] <= 110
    # Someone sprays a solvent: VOCs tenfold, the index climbs well above 100.
    board.environment.tvoc_ppb = lambda t=None: 3000.0
    for _ in range(12):
        board.clock.advance(5.0)
        values = reader.read()
    assert values["voc_index"] > 200
    reader.close()
    assert not sgp.heater_on


def test_a_failed_self_test_stops_the_set_up(board):
    board.faults.set("sgp40", "out-of-range")
    reader = reader_on(board)
    with pytest.raises(SGP40Error, match="failed its self test"):
        reader.open(board)


def test_corrupt_and_stuck(board):
    reader = reader_on(board)
    reader.open(board)
    board.faults.set("sgp40", "corrupt")
    with pytest.raises(I2cChecksumError) as caught:
        reader.read()
    assert reader.error_reason(caught.value) == "checksum"
    board.faults.set("sgp40", "stuck")
    with pytest.raises(OSError):
        reader.read()


def test_through_the_service():
    polled = PolledApp(environ={"ENVIRO_I2C_SENSORS": "sgp40@0x59,scd41@0x62"}, i2c_interval=5.0)
    try:
        for _ in range(12):
            polled.clock.advance(5.0)
            polled.poll("i2c")
        body = polled.client.get("/api/sensors/i2c/sgp40").get_json()["result"]
        assert body["status"] == "ok"
        assert 1 <= body["values"]["voc_index"] <= 500
        text = polled.client.get("/metrics").get_data(as_text=True)
        assert 'enviro_voc_index{sensor="sgp40"}' in text
        assert 'enviro_carbon_dioxide_ppm{sensor="scd41"}' in text
    finally:
        polled.close()
