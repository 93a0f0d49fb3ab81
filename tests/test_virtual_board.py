"""The VirtualBoard: the Board interface over the emulated buses, pins, serial port and LCD."""

from __future__ import annotations

import errno
import os
import threading
import time

import gpiodevice
import pms5003
import pytest
from gpiod.line import Value
from PIL import Image

from enviro_sensor.hardware.board import PINS, Board
from enviro_sensor.hardware.virtual import VirtualBoard
from enviro_sensor.hardware.virtual.clock import ManualClock, WallClock
from enviro_sensor.hardware.virtual.faults import Faults
from enviro_sensor.settings import BOARD, load_settings
from tests.virtual_support import FAST_PMS5003, MORNING


@pytest.fixture
def board():
    board = VirtualBoard(seed=2, clock=ManualClock(MORNING))
    yield board
    board.close()


def test_is_a_board_of_the_virtual_kind(board):
    assert isinstance(board, Board)
    assert board.kind == "virtual"
    assert isinstance(board.faults, Faults)
    assert isinstance(VirtualBoard().clock, WallClock)


def test_construction_starts_no_thread():
    before = threading.active_count()
    board = VirtualBoard()
    board.i2c_bus().read_byte_data(0x76, 0xD0)
    assert threading.active_count() == before
    board.close()


def test_bus_one_is_the_emulated_bus_and_other_buses_are_missing(board):
    assert board.i2c_bus() is board.i2c_bus(1) is board.bus
    with pytest.raises(FileNotFoundError) as caught:
        board.i2c_bus(0)
    assert caught.value.errno == errno.ENOENT
    assert caught.value.filename == "/dev/i2c-0"


def test_driver_pins_pass_through_gpiodevice_and_drive_the_lines(board):
    for name, number in PINS.items():
        lines, offset = board.driver_pin(name)
        assert offset == number
    pin = board.driver_pin("gas_heater")
    assert gpiodevice.get_pin(pin, "heater", None) == pin
    lines, offset = pin
    lines.set_value(offset, Value.ACTIVE)
    assert board.gpio.level(24)
    assert board.gas_sensor.heater_on
    with pytest.raises(KeyError):
        board.driver_pin("no_such_pin")


def test_cpu_temperature_comes_from_the_model(board):
    celsius = board.cpu_temperature()
    assert celsius == board.environment.conditions().cpu_temperature_celsius
    assert 45 <= celsius <= 60


def test_from_options_follows_this_machines_time_zone():
    board = VirtualBoard.from_options(load_settings({"ENVIRO_VIRTUAL_SEED": "4"}).of(BOARD))
    assert board.seed == 4
    assert board.environment.utc_offset_seconds == time.localtime().tm_gmtoff
    assert board.faults.configured("bme280") is None


def test_faults_may_be_given_as_a_spec(board):
    assert VirtualBoard(faults="bme280=stuck").faults.configured("bme280") == "stuck"
    shared = Faults({"ltr559": "absent"})
    assert VirtualBoard(faults=shared).faults is shared


def test_the_serial_port_starts_on_first_request_and_stops_on_close():
    board = VirtualBoard(seed=2, **FAST_PMS5003)
    before = threading.active_count()
    path = board.serial_device()
    assert board.serial_device() == path
    assert os.path.exists(path)
    assert threading.active_count() == before + 1
    sensor = pms5003.PMS5003(
        device=path,
        pin_enable=board.driver_pin("pms5003_enable"),
        pin_reset=board.driver_pin("pms5003_reset"),
    )
    reading = sensor.read()
    assert reading.pm_ug_per_m3(2.5) >= 0
    board.close()
    board.close()  # a second close does nothing
    assert not os.path.exists(path)
    assert threading.active_count() == before


def test_the_lcd_can_be_drawn_and_read_back(board):
    assert board.lcd_frame() is None
    display = board.open_lcd()
    display.display(Image.new("RGB", (display.width, display.height), (255, 0, 0)))
    frame = board.lcd_frame()
    assert frame.size == (160, 80)
    red, green, blue = frame.getpixel((80, 40))
    assert red > 200 and green < 50 and blue < 50


def test_the_default_board_keeps_the_real_parts_timing():
    board = VirtualBoard()
    assert (board.pms5003.frame_interval, board.pms5003.startup_seconds) == (1.0, 1.0)
    assert board.bus.wire_time is False


def test_the_pms5003_timing_is_set_by_the_board():
    board = VirtualBoard(pms5003_frame_interval=0.02, pms5003_startup=0.05, wire_time=True)
    assert (board.pms5003.frame_interval, board.pms5003.startup_seconds) == (0.02, 0.05)
    assert board.bus.wire_time is True


def test_a_particulate_read_on_a_manual_clock_nobody_advances():
    # The clock stands still, and frames still come: each on-chip wait also
    # ends after its real duration (hardware.virtual.pms5003, "Time").
    fast = VirtualBoard(seed=2, clock=ManualClock(MORNING), **FAST_PMS5003)
    try:
        sensor = pms5003.PMS5003(
            device=fast.serial_device(),
            pin_enable=fast.driver_pin("pms5003_enable"),
            pin_reset=fast.driver_pin("pms5003_reset"),
        )
        sensor._serial.timeout = 1.0  # a deadlock fails sooner than after the driver's 4 s
        assert sensor.read().pm_ug_per_m3(2.5) == round(fast.environment.conditions().pm2_5_ugm3)
        assert fast.clock.monotonic() == 0.0
    finally:
        fast.close()
