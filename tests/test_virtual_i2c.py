"""The emulated I2C bus: smbus2's calls, a real bus's errors, its counters, one lock."""

from __future__ import annotations

import errno
import sys
import threading

import bme280
import ltr559
import pytest
from smbus2 import i2c_msg

from enviro_sensor.hardware.virtual import VirtualBoard
from enviro_sensor.hardware.virtual.chips import bosch
from enviro_sensor.hardware.virtual.clock import ManualClock
from enviro_sensor.hardware.virtual.faults import Faults
from enviro_sensor.hardware.virtual.i2c import BUS_CLOCK_HZ, VirtualI2CBus, wire_seconds
from tests.virtual_support import MORNING

NOBODY = 0x50  # no chip on the virtual board answers here


@pytest.fixture
def board():
    return VirtualBoard(clock=ManualClock(MORNING))


@pytest.fixture
def bus(board):
    return board.i2c_bus()


@pytest.mark.parametrize(
    "call",
    [
        lambda bus: bus.write_quick(NOBODY),
        lambda bus: bus.read_byte(NOBODY),
        lambda bus: bus.write_byte(NOBODY, 0),
        lambda bus: bus.read_byte_data(NOBODY, 0),
        lambda bus: bus.write_byte_data(NOBODY, 0, 0),
        lambda bus: bus.read_word_data(NOBODY, 0),
        lambda bus: bus.write_word_data(NOBODY, 0, 0),
        lambda bus: bus.read_i2c_block_data(NOBODY, 0, 4),
        lambda bus: bus.write_i2c_block_data(NOBODY, 0, [1, 2]),
        lambda bus: bus.i2c_rdwr(i2c_msg.write(NOBODY, [0]), i2c_msg.read(NOBODY, 1)),
    ],
)
def test_an_address_nobody_acknowledges_fails_as_on_a_pi(bus, call):
    with pytest.raises(OSError) as caught:
        call(bus)
    assert caught.value.errno == errno.EREMOTEIO  # 121, "Remote I/O error"


def test_write_quick_finds_the_chips_like_i2cdetect(bus):
    found = []
    for address in range(0x08, 0x78):
        try:
            bus.write_quick(address)
            found.append(address)
        except OSError:
            pass
    assert found == [0x23, 0x38, 0x49, 0x76, 0x77]
    assert bus.addresses == found


def test_byte_calls_use_the_chip_pointer(bus):
    bus.write_byte(0x76, 0xD0)  # set the BME280's pointer to chip id
    assert bus.read_byte(0x76) == 0x60
    bus.write_byte_data(0x76, 0xF5, 0xA0)
    assert bus.read_byte_data(0x76, 0xF5) == 0xA0


def test_word_calls_send_the_low_byte_first(bus):
    # SMBus words travel low byte first, while the ADS1015 sends its
    # registers most significant byte first: its config resets to 0x8583.
    assert bus.read_i2c_block_data(0x49, 0x01, 2) == [0x85, 0x83]
    assert bus.read_word_data(0x49, 0x01) == 0x8385
    bus.write_word_data(0x49, 0x02, 0x3412)  # low threshold register
    assert bus.read_i2c_block_data(0x49, 0x02, 2) == [0x12, 0x34]


def test_block_reads_auto_increment(bus):
    # The BME280's 26 calibration bytes in one transfer (datasheet 4.2.2).
    assert bytes(bus.read_i2c_block_data(0x76, 0x88, 26)) == bosch.TYPICAL_BME280.calibration_bytes()


def test_i2c_rdwr_fills_read_buffers(bus):
    pointer, answer = i2c_msg.write(0x76, [0xD0]), i2c_msg.read(0x76, 1)
    bus.i2c_rdwr(pointer, answer)
    assert list(answer) == [0x60]


def test_blocks_longer_than_smbus_allows_are_refused(bus):
    with pytest.raises(ValueError):
        bus.read_i2c_block_data(0x76, 0x88, 33)
    with pytest.raises(ValueError):
        bus.write_i2c_block_data(0x76, 0x88, [0] * 33)


def test_closing_a_handle_leaves_the_shared_bus_working(board, bus):
    with board.i2c_bus() as handle:
        assert handle.read_byte_data(0x76, 0xD0) == 0x60
    bus.close()
    assert board.i2c_bus().read_byte_data(0x76, 0xD0) == 0x60


def test_transactions_are_counted_per_address(bus):
    assert bus.transactions == 0
    bus.read_byte_data(0x76, 0xD0)
    bus.read_i2c_block_data(0x76, 0x88, 26)
    bus.i2c_rdwr(i2c_msg.write(0x23, [0x86]), i2c_msg.read(0x23, 1))
    with pytest.raises(OSError):
        bus.read_byte(NOBODY)  # a failed attempt is still traffic
    assert bus.transactions == 4
    assert bus.transactions_by_address == {0x76: 2, 0x23: 1, NOBODY: 1}


def test_a_driver_reading_shows_on_the_counters(board, bus):
    sensor = bme280.BME280(i2c_addr=0x76, i2c_dev=bus)
    sensor.setup()
    before = bus.transactions_by_address
    sensor.get_temperature()
    after = bus.transactions_by_address
    assert after[0x76] > before[0x76]
    assert after.get(0x23, 0) == before.get(0x23, 0)


def test_one_lock_serialises_the_bus(bus):
    # Each call is one pointer write and one read: without the bus lock,
    # threads would move each other's pointer and read the wrong bytes.
    expected = list(bosch.TYPICAL_BME280.calibration_bytes())
    wrong = []

    def hammer():
        for _ in range(300):
            if bus.read_i2c_block_data(0x76, 0x88, 26) != expected:
                wrong.append(1)
            bus.read_byte_data(0x76, 0xD0)

    # Switch threads as often as the interpreter can, so a race would show.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert wrong == []
    assert bus.transactions == 8 * 300 * 2


def test_drivers_share_the_bus_from_two_threads(board, bus):
    clock = board.clock
    weather = bme280.BME280(i2c_addr=0x76, i2c_dev=bus)
    weather.setup()
    light = ltr559.LTR559(i2c_dev=bus)
    clock.advance(1)
    errors = []

    def read(update):
        try:
            for _ in range(50):
                update()
        except Exception as error:  # reported below, with the thread's failure
            errors.append(error)

    threads = [
        threading.Thread(target=read, args=(weather.update_sensor,)),
        threading.Thread(target=read, args=(light.update_sensor,)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    conditions = board.environment.conditions()
    assert weather.temperature == pytest.approx(conditions.temperature_celsius, abs=0.001)
    assert light.get_lux(passive=True) == pytest.approx(conditions.illuminance_lux, abs=1.7)


def test_a_bus_on_its_own_needs_only_faults():
    bus = VirtualI2CBus(Faults())
    assert bus.addresses == []
    with pytest.raises(OSError):
        bus.read_byte(0x76)


def test_transfers_take_no_time_unless_asked(board, bus):
    before = board.clock.monotonic()
    for _ in range(100):
        bus.read_i2c_block_data(0x76, 0x88, 26)
    assert board.clock.monotonic() == before
    assert bus.transactions == 100


def test_wire_time_is_spent_on_the_boards_clock():
    clock = ManualClock(MORNING)
    bus = VirtualBoard(clock=clock, wire_time=True).i2c_bus()
    before = clock.monotonic()
    bus.read_byte_data(0x76, 0xD0)
    # A pointer write and a read: two starts with their address bytes (2 x 10
    # bits), the pointer and the answer (2 x 9 bits) and a stop: 39 bits,
    # 390 us at 100 kHz.
    assert wire_seconds(2, 2) == 39 / BUS_CLOCK_HZ
    assert clock.monotonic() - before == pytest.approx(39 / BUS_CLOCK_HZ, abs=1e-12)
    middle = clock.monotonic()
    bus.i2c_rdwr(i2c_msg.write(0x76, [0x88]), i2c_msg.read(0x76, 26))
    assert clock.monotonic() - middle == pytest.approx(wire_seconds(2, 27), abs=1e-12)
    with pytest.raises(OSError):
        bus.read_byte(NOBODY)  # refused at the address: the emulation charges no wire time
    assert clock.monotonic() - middle == pytest.approx(wire_seconds(2, 27), abs=1e-12)
    assert bus.transactions == 3


def test_wire_time_at_a_faster_bus_clock():
    clock = ManualClock(MORNING)
    bus = VirtualI2CBus(Faults(), clock, clock_hz=400_000, wire_time=True)
    bus.attach(VirtualBoard(clock=clock).bme280)
    before = clock.monotonic()
    bus.write_byte_data(0x76, 0xF5, 0x00)
    # One message: a start and address (10 bits), two bytes (18 bits), a stop.
    assert clock.monotonic() - before == pytest.approx(29 / 400_000, abs=1e-12)
