"""Injected faults reach the drivers as the errors real hardware gives, and clear."""

from __future__ import annotations

import dataclasses
import errno
import re
import threading
import time
from pathlib import Path

import ads1015
import bme280
import ltr559
import pytest

from enviro_sensor.hardware.options import device_faults
from enviro_sensor.hardware.virtual import VirtualBoard
from enviro_sensor.hardware.virtual.chips import bosch
from enviro_sensor.hardware.virtual.chips.mics6814 import element_ohms
from enviro_sensor.hardware.virtual.faults import (
    INTERMITTENT_SPELL_SECONDS,
    Faults,
    FaultSpecError,
    known_device_faults,
    parse_fault_spec,
)
from enviro_sensor.settings import BOARD, SettingsError, load_settings
from tests.virtual_support import detected_type, driver_on_clock

# Each I2C device, its address, and a register it answers.
I2C_DEVICES = [
    ("bme280", 0x76, 0xD0),
    ("bmp280", 0x77, 0xD0),
    ("ltr559", 0x23, 0x86),
    ("ads1015", 0x49, 0x01),
    ("aht10", 0x38, 0x00),
]


def wait_until(condition, what: str) -> None:
    """Poll ``condition`` (driven by another thread) for up to ten seconds."""
    for _ in range(1000):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"gave up waiting for {what}")


# -- the setting -----------------------------------------------------------------


def test_the_setting_parses_faults_per_device():
    settings = load_settings({"ENVIRO_VIRTUAL_FAULTS": " BME280=absent , pms5003=corrupt "})
    assert settings.virtual_faults == {"bme280": "absent", "pms5003": "corrupt"}
    assert load_settings({}).virtual_faults == {}


def test_a_fault_setting_that_is_no_list_of_pairs_stops_start_up_with_one_line():
    with pytest.raises(SettingsError) as caught:
        load_settings({"ENVIRO_VIRTUAL_FAULTS": "bme280"})
    assert str(caught.value) == "ENVIRO_VIRTUAL_FAULTS: expected device=fault, got 'bme280'"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "foo=absent",
            "ENVIRO_VIRTUAL_FAULTS: unknown device 'foo' "
            "(known: ads1015, aht10, bme280, bme680, bmp280, ltr559, microphone, pms5003, scd40, scd41, sgp40, st7735)",
        ),
        (
            "ads1015=wrong-id",
            "ENVIRO_VIRTUAL_FAULTS: ads1015 cannot have fault 'wrong-id' "
            "(it can have: absent, intermittent, ioerror, out-of-range, stuck)",
        ),
    ],
)
def test_a_fault_the_board_cannot_have_stops_start_up_with_one_line(value, message):
    # The settings check the syntax; which devices and faults exist is the board's to say.
    with pytest.raises(SettingsError) as caught:
        load_settings({"ENVIRO_VIRTUAL_FAULTS": value})
    assert str(caught.value) == message
    options = dataclasses.replace(load_settings({}).of(BOARD), virtual_faults=device_faults(value))
    with pytest.raises(FaultSpecError):
        VirtualBoard.from_options(options)


def test_the_board_takes_its_faults_from_the_settings():
    settings = load_settings({"ENVIRO_VIRTUAL_FAULTS": "ltr559=absent", "ENVIRO_VIRTUAL_SEED": "9"})
    board = VirtualBoard.from_options(settings.of(BOARD))
    assert board.faults.configured("ltr559") == "absent"
    assert board.environment.seed == 9
    with pytest.raises(OSError) as caught:
        board.i2c_bus().read_byte_data(0x23, 0x86)
    assert caught.value.errno == errno.EREMOTEIO


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "foo=absent",
            "unknown device 'foo' (known: ads1015, aht10, bme280, bme680, bmp280, ltr559, microphone, pms5003, scd40, scd41, sgp40, st7735)",
        ),
        ("bme280", "expected device=fault, got 'bme280'"),
        ("=absent", "expected device=fault, got '=absent'"),
        (
            "ads1015=wrong-id",
            "ads1015 cannot have fault 'wrong-id' (it can have: absent, intermittent, ioerror, out-of-range, stuck)",
        ),
    ],
)
def test_a_bad_fault_spec_says_what_is_wrong(spec, message):
    with pytest.raises(FaultSpecError) as caught:
        parse_fault_spec(spec)
    assert str(caught.value) == message


def test_faults_refuse_what_the_setting_refuses():
    with pytest.raises(FaultSpecError):
        Faults().set("bme280", "corrupt")
    with pytest.raises(FaultSpecError):
        VirtualBoard(faults={"lcd": "absent"})
    assert parse_fault_spec("") == {}


# -- absent and ioerror: what the bus reports -------------------------------------


@pytest.mark.parametrize(("device", "address", "register"), I2C_DEVICES)
@pytest.mark.parametrize(("fault", "code"), [("absent", errno.EREMOTEIO), ("ioerror", errno.EIO)])
def test_bus_errors_and_recovery(board, device, address, register, fault, code):
    bus = board.i2c_bus()
    board.faults.set(device, fault)
    with pytest.raises(OSError) as caught:
        bus.read_byte_data(address, register)
    assert caught.value.errno == code
    # The other chips on the bus are untouched.
    other = next(entry for entry in I2C_DEVICES if entry[0] != device)
    bus.read_byte_data(other[1], other[2])
    board.faults.clear(device)
    bus.read_byte_data(address, register)


def test_bme280_driver_reports_an_absent_chip_its_own_way(board):
    board.faults.set("bme280", "absent")
    sensor = bme280.BME280(i2c_addr=0x76, i2c_dev=board.i2c_bus())
    with pytest.raises(RuntimeError, match="Unable to find bme280 on 0x76, IOError"):
        sensor.setup()


def test_ltr559_driver_sees_the_missing_acknowledge(board):
    board.faults.set("ltr559", "absent")
    with pytest.raises(OSError) as caught:
        ltr559.LTR559(i2c_dev=board.i2c_bus())
    assert caught.value.errno == errno.EREMOTEIO
    board.faults.clear()
    ltr559.LTR559(i2c_dev=board.i2c_bus())


def test_ads1015_driver_sees_an_io_error(board):
    board.faults.set("ads1015", "ioerror")
    adc = ads1015.ADS1015(i2c_addr=0x49, i2c_dev=board.i2c_bus())
    with pytest.raises(OSError) as caught:
        adc.detect_chip_type()
    assert caught.value.errno == errno.EIO
    board.faults.clear("ads1015")
    assert detected_type(adc, board) == "ADS1015"


# -- wrong-id: the drivers' own checks ---------------------------------------------


def test_bme280_wrong_id_is_refused_by_the_driver(board):
    board.faults.set("bme280", "wrong-id")
    sensor = bme280.BME280(i2c_addr=0x76, i2c_dev=board.i2c_bus())
    with pytest.raises(RuntimeError, match="CHIP_ID returned 58"):
        sensor.setup()
    board.faults.clear("bme280")
    fresh = bme280.BME280(i2c_addr=0x76, i2c_dev=board.i2c_bus())
    fresh.setup()


def test_ltr559_wrong_id_is_refused_by_the_driver(board):
    board.faults.set("ltr559", "wrong-id")
    with pytest.raises(RuntimeError, match="LTR559 not found"):
        ltr559.LTR559(i2c_dev=board.i2c_bus())


def test_bmp280_wrong_id_answers_like_a_bme280(board):
    board.faults.set("bmp280", "wrong-id")
    assert board.i2c_bus().read_byte_data(0x77, 0xD0) == 0x60


# -- stuck: busy bits that never clear ------------------------------------------------


def test_bme280_stuck_busy_bit_holds_the_driver_until_cleared(board, clock):
    bus = board.i2c_bus()
    sensor = bme280.BME280(i2c_addr=0x76, i2c_dev=bus)
    sensor.setup(mode="forced")
    board.faults.set("bme280", "stuck")
    result = {}
    reader = threading.Thread(target=lambda: result.update(celsius=sensor.get_temperature()), daemon=True)
    reader.start()
    # A second of board time is far past the 113 ms the measurement takes;
    # the driver, polling the status register every millisecond, still waits.
    clock.advance(1.0)
    polls_after = bus.transactions_by_address[0x76]
    wait_until(lambda: bus.transactions_by_address[0x76] > polls_after + 20, "20 more status polls")
    assert reader.is_alive()
    assert "celsius" not in result

    board.faults.clear("bme280")
    reader.join(timeout=10)
    assert not reader.is_alive()
    assert result["celsius"] == pytest.approx(board.environment.conditions().temperature_celsius, abs=0.001)


def test_ltr559_stuck_in_reset_times_the_driver_out(board):
    board.faults.set("ltr559", "stuck")
    with pytest.raises(RuntimeError, match="Timeout waiting for software reset"):
        ltr559.LTR559(i2c_dev=board.i2c_bus(), timeout=0.2)
    board.faults.clear("ltr559")
    ltr559.LTR559(i2c_dev=board.i2c_bus(), timeout=0.2)


def test_ads1015_stuck_conversion_times_the_driver_out(board):
    board.faults.set("ads1015", "stuck")
    adc = ads1015.ADS1015(i2c_addr=0x49, i2c_dev=board.i2c_bus())
    with pytest.raises(ads1015.ADS1015TimeoutError), driver_on_clock(ads1015, board.clock):
        adc.detect_chip_type(timeout=0.05)
    board.faults.clear("ads1015")
    assert detected_type(adc, board) == "ADS1015"


def test_aht10_stuck_busy_bit(board, clock):
    bus = board.i2c_bus()
    board.faults.set("aht10", "stuck")
    bus.write_i2c_block_data(0x38, 0xAC, [0x33, 0x00])
    clock.advance(1.0)  # datasheet: done within 75 ms
    assert bus.read_byte(0x38) & 0x80
    board.faults.clear("aht10")
    assert not bus.read_byte(0x38) & 0x80


# -- out-of-range and corrupt: answers no working part gives ------------------------------


def test_bme280_out_of_range_reads_beyond_the_datasheet_range(board):
    board.faults.set("bme280", "out-of-range")
    bus = board.i2c_bus()
    sensor = bme280.BME280(i2c_addr=0x76, i2c_dev=bus)
    sensor.setup(mode="forced")
    sensor.update_sensor()
    # Operating range (datasheet table 1): -40..85 C, 300..1100 hPa, 0..100 %RH.
    assert sensor.temperature == pytest.approx(120, abs=0.01)
    assert sensor.pressure > 1100
    assert sensor.humidity == 100  # the driver clamps; the raw value is beyond it
    msb, lsb = bus.read_i2c_block_data(0x76, 0xFD, 2)
    t_fine = sensor.calibration.temperature_fine
    assert bosch.compensate_humidity(bosch.TYPICAL_BME280, msb << 8 | lsb, t_fine) > 100

    board.faults.clear("bme280")
    sensor.update_sensor()
    assert sensor.temperature < 40


def test_ltr559_out_of_range_reads_beyond_30000_lux(board, clock):
    board.faults.set("ltr559", "out-of-range")
    sensor = ltr559.LTR559(i2c_dev=board.i2c_bus())
    clock.advance(0.1)
    assert sensor.get_lux() > 30000


def test_ads1015_out_of_range_reads_above_the_supply(board):
    board.faults.set("ads1015", "out-of-range")
    adc = ads1015.ADS1015(i2c_addr=0x49, i2c_dev=board.i2c_bus())
    adc.set_mode("single")
    adc.set_programmable_gain(6.144)
    volts = adc.get_voltage("in0/gnd")
    assert volts > 3.3
    assert element_ohms(volts) < 0  # no resistance gives this


def test_aht10_out_of_range_reads_all_ones(board, clock):
    bus = board.i2c_bus()
    board.faults.set("aht10", "out-of-range")
    bus.write_i2c_block_data(0x38, 0xAC, [0x33, 0x00])
    clock.advance(0.1)
    assert bus.read_i2c_block_data(0x38, 0x00, 6)[1:] == [0xFF] * 5


def test_aht10_corrupt_data_is_inconsistent(board, clock):
    bus = board.i2c_bus()
    bus.write_i2c_block_data(0x38, 0xE1, [0x08, 0x00])
    board.faults.set("aht10", "corrupt")
    bus.write_i2c_block_data(0x38, 0xAC, [0x33, 0x00])
    clock.advance(0.1)
    first = bus.read_i2c_block_data(0x38, 0x00, 6)
    second = bus.read_i2c_block_data(0x38, 0x00, 6)
    assert first[0] & 0x08 == 0  # claims to be uncalibrated
    assert first[1:] != second[1:]  # the same measurement read twice differs
    board.faults.clear("aht10")
    third, fourth = (bus.read_i2c_block_data(0x38, 0x00, 6) for _ in range(2))
    assert third == fourth and third[0] & 0x08


# -- intermittent: some readings fail ---------------------------------------------------------


def test_intermittent_fails_some_readings_in_spells(board, clock):
    sensor = bme280.BME280(i2c_addr=0x76, i2c_dev=board.i2c_bus())
    sensor.setup()  # normal mode: each reading is one burst read of the data registers
    board.faults.set("bme280", "intermittent")
    outcomes = []
    for _ in range(60):
        clock.advance(INTERMITTENT_SPELL_SECONDS)
        try:
            sensor.update_sensor()
            outcomes.append(True)
        except OSError as error:
            assert error.errno == errno.EIO
            outcomes.append(False)
    failures = outcomes.count(False)
    assert 8 <= failures <= 35  # about one in three, repeatably for the seed
    # Within one spell every transfer shares the outcome.
    bus = board.i2c_bus()
    results = set()
    for _ in range(20):
        try:
            bus.read_byte_data(0x76, 0xD0)
            results.add("ok")
        except OSError:
            results.add("failed")
    assert len(results) == 1


def test_intermittent_without_a_time_strikes_per_operation():
    faults = Faults({"pms5003": "intermittent"}, seed=4)
    strikes = [faults.check("pms5003") for _ in range(300)]
    assert 60 <= strikes.count("intermittent") <= 140
    assert set(strikes) == {"intermittent", None}
    again = Faults({"pms5003": "intermittent"}, seed=4)
    assert [again.check("pms5003") for _ in range(300)] == strikes


def test_the_readme_lists_every_device_and_its_faults():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    listed = {}
    for devices, faults in re.findall(
        r"^\| (`[a-z0-9]+`(?:, `[a-z0-9]+`)*) \| (`.*`) \|$", readme, re.MULTILINE
    ):
        for device in re.findall(r"`([a-z0-9]+)`", devices):
            listed[device] = set(re.findall(r"`([a-z-]+)`", faults))
    # The board's own devices and the parts for the header that declare theirs.
    assert listed == {device: set(faults) for device, faults in known_device_faults().items()}
