"""The emulated PMS5003, read by the unmodified pms5003 driver over a pty."""

from __future__ import annotations

import dataclasses
import fcntl
import itertools
import os
import struct
import termios
import time

import pms5003
import pytest
import serial

from hardware.virtual.environment import Conditions
from hardware.virtual.faults import Faults
from hardware.virtual.gpio import VirtualGpio
from hardware.virtual.pms5003 import (
    MAX_CONCENTRATION_UGM3,
    UART_BUFFER_BYTES,
    FrameError,
    ParticulateFrame,
    VirtualPMS5003,
    build_frame,
    frame_values,
    parse_frame,
    particle_counts,
)

# A frame laid out by hand from the data manual's appendix I: PM1.0 5,
# PM2.5 10, PM10 15 ug/m3 (CF=1 and atmospheric); 900, 300, 50, 5, 1, 0
# particles beyond 0.3..10 um per 0.1 L; reserved 0x9700; check code
# 0x42+0x4d+0x1c + 60 + (0x03+0x84) + (0x01+0x2c) + 0x32 + 5 + 1 + 0x97 = 0x026a.
LITERAL_FRAME = bytes.fromhex(
    "42 4d 00 1c  00 05 00 0a 00 0f  00 05 00 0a 00 0f03 84 01 2c 00 32 00 05 00 01 00 00  97 00  02 6a"
)
LITERAL_VALUES = ParticulateFrame(5, 10, 15, 5, 10, 15, counts=(900, 300, 50, 5, 1, 0), reserved=0x9700)

FRAME_INTERVAL = 0.05  # seconds; the real sensor sends about once a second
STARTUP = 0.1


def conditions(pm1_0: float, pm2_5: float, pm10: float) -> Conditions:
    return Conditions(
        temperature_celsius=21.0,
        pressure_pascals=101_325.0,
        humidity_percent=45.0,
        illuminance_lux=300.0,
        proximity=0,
        oxidising_ohms=20_000.0,
        reducing_ohms=200_000.0,
        nh3_ohms=80_000.0,
        pm1_0_ugm3=pm1_0,
        pm2_5_ugm3=pm2_5,
        pm10_ugm3=pm10,
        cpu_temperature_celsius=45.0,
    )


class Air:
    """An environment whose particulate levels the test sets."""

    def __init__(self, pm1_0: float, pm2_5: float, pm10: float) -> None:
        self.now = conditions(pm1_0, pm2_5, pm10)

    def conditions(self) -> Conditions:
        return self.now


@pytest.fixture
def gpio():
    return VirtualGpio()


@pytest.fixture
def faults():
    return Faults(seed=0)


@pytest.fixture
def air():
    return Air(7.2, 10.4, 15.6)


@pytest.fixture
def sensor(air, faults, gpio):
    sensor = VirtualPMS5003(air, faults, gpio, frame_interval=FRAME_INTERVAL, startup_seconds=STARTUP)
    sensor.start()
    yield sensor
    sensor.stop()


def open_driver(sensor, gpio) -> pms5003.PMS5003:
    return pms5003.PMS5003(
        device=sensor.device_path, baudrate=9600, pin_enable=gpio.pin(22), pin_reset=gpio.pin(27)
    )


def wait_until(condition, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


# Frame layout, on literal bytes


def test_build_frame_lays_out_the_manuals_frame():
    assert build_frame(LITERAL_VALUES) == LITERAL_FRAME


def test_parse_frame_reads_the_manuals_frame():
    assert parse_frame(LITERAL_FRAME) == LITERAL_VALUES


def test_the_vendor_parser_agrees_with_the_layout():
    data = pms5003.PMS5003Data(LITERAL_FRAME[4:])
    assert [data.pm_ug_per_m3(size) for size in (1.0, 2.5, 10)] == [5, 10, 15]
    assert [data.pm_per_1l_air(size) for size in (0.3, 0.5, 1.0, 2.5, 5, 10)] == [900, 300, 50, 5, 1, 0]
    assert data.checksum == 0x026A


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (LITERAL_FRAME[:7] + b"\x0b" + LITERAL_FRAME[8:], "check code"),
        (b"\x42\x4e" + LITERAL_FRAME[2:], "start with"),
        (LITERAL_FRAME[:3] + b"\x1e" + LITERAL_FRAME[4:], "length field"),
        (LITERAL_FRAME[:31], "32 bytes"),
    ],
)
def test_parse_frame_rejects_damaged_frames(frame, problem):
    with pytest.raises(FrameError, match=problem):
        parse_frame(frame)


def test_build_frame_refuses_values_beyond_16_bits():
    with pytest.raises(ValueError, match="16 bits"):
        build_frame(dataclasses.replace(LITERAL_VALUES, pm2_5_cf1=70_000))


# What the sensor reports for given air


def test_frame_values_round_the_masses_and_keep_atmospheric_equal_in_clean_air():
    values = frame_values(7.2, 10.4, 15.6)
    assert (values.pm1_0_cf1, values.pm2_5_cf1, values.pm10_cf1) == (7, 10, 16)
    assert (values.pm1_0_atm, values.pm2_5_atm, values.pm10_atm) == (7, 10, 16)


def test_atmospheric_values_fall_below_cf1_in_dirty_air():
    values = frame_values(60, 90, 120)
    assert values.pm2_5_atm < values.pm2_5_cf1 == 90
    assert values.pm1_0_atm <= values.pm2_5_atm <= values.pm10_atm


def test_counts_are_cumulative_and_follow_the_masses():
    counts = particle_counts(7, 10, 15)
    assert all(a >= b for a, b in itertools.pairwise(counts))
    assert counts[0] > 0
    doubled = particle_counts(14, 20, 30)
    assert all(abs(d - 2 * c) <= 1 for c, d in zip(counts, doubled, strict=True))
    # No mass beyond 2.5 um: no particles beyond 2.5 um.
    assert particle_counts(7, 10, 10)[3:] == (0, 0, 0)
    assert particle_counts(0, 0, 0) == (0, 0, 0, 0, 0, 0)


def test_a_working_sensor_stays_within_its_range_and_size_order():
    values = frame_values(900, 5000, 20)  # a model's nonsense in, a sensor's numbers out
    assert values.pm2_5_cf1 == MAX_CONCENTRATION_UGM3
    assert values.pm1_0_cf1 <= values.pm2_5_cf1 <= values.pm10_cf1 <= MAX_CONCENTRATION_UGM3


# The unmodified driver on the pty


def test_driver_reads_the_environments_values(sensor, gpio, air):
    driver = open_driver(sensor, gpio)
    data = driver.read()
    assert [data.pm_ug_per_m3(size) for size in (1.0, 2.5, 10)] == [7, 10, 16]
    assert [data.pm_ug_per_m3(size, atmospheric_environment=True) for size in (1.0, 2.5)] == [7, 10]
    counts = particle_counts(7.2, 10.4, 15.6)
    assert [data.pm_per_1l_air(size) for size in (0.3, 0.5, 1.0, 2.5, 5, 10)] == list(counts)

    air.now = conditions(30.0, 45.0, 80.0)
    driver.reset()  # drop frames already on the line
    data = driver.read()
    assert [data.pm_ug_per_m3(size) for size in (1.0, 2.5, 10)] == [30, 45, 80]


def test_frames_arrive_on_a_steady_cadence(sensor, gpio):
    driver = open_driver(sensor, gpio)
    before = sensor.frames_sent
    for _ in range(5):
        driver.read()
    assert sensor.frames_sent >= before + 5


def test_corrupt_frames_fail_the_checksum_and_recover(sensor, gpio, faults):
    driver = open_driver(sensor, gpio)
    faults.set("pms5003", "corrupt")
    driver.reset()
    with pytest.raises(pms5003.ChecksumMismatchError):
        driver.read()
    faults.clear("pms5003")
    driver.reset()
    assert driver.read().pm_ug_per_m3(2.5) == 10


def test_intermittent_corrupts_some_frames_only(sensor, gpio, faults):
    driver = open_driver(sensor, gpio)
    faults.set("pms5003", "intermittent")
    outcomes = []
    for _ in range(20):
        try:
            outcomes.append(driver.read().pm_ug_per_m3(2.5))
        except pms5003.ChecksumMismatchError:
            outcomes.append("corrupt")
    assert "corrupt" in outcomes
    assert 10 in outcomes


def test_out_of_range_values_pass_the_checksum_but_exceed_the_range(sensor, gpio, faults):
    driver = open_driver(sensor, gpio)
    faults.set("pms5003", "out-of-range")
    driver.reset()
    assert driver.read().pm_ug_per_m3(2.5) > MAX_CONCENTRATION_UGM3


def test_silent_sensor_times_out_in_the_driver_and_recovers(sensor, gpio, faults):
    driver = open_driver(sensor, gpio)
    faults.set("pms5003", "silent")
    time.sleep(2 * FRAME_INTERVAL)
    driver.reset()
    with pytest.raises(pms5003.SerialTimeoutError):  # after the driver's own 4 s timeout
        driver.read()
    faults.clear("pms5003")
    assert driver.read().pm_ug_per_m3(10) == 16


def test_absent_sensor_has_no_serial_device_and_comes_back(sensor, gpio, faults):
    faults.set("pms5003", "absent")
    wait_until(lambda: not os.path.exists(sensor.device_path))
    with pytest.raises(serial.SerialException, match="No such file"):
        open_driver(sensor, gpio)
    faults.clear("pms5003")
    wait_until(lambda: os.path.exists(sensor.device_path))
    assert open_driver(sensor, gpio).read().pm_ug_per_m3(1.0) == 7


def test_absent_from_the_start(air, faults, gpio):
    faults.set("pms5003", "absent")
    sensor = VirtualPMS5003(air, faults, gpio, frame_interval=FRAME_INTERVAL, startup_seconds=STARTUP)
    sensor.start()
    try:
        assert not os.path.exists(sensor.device_path)
    finally:
        sensor.stop()


# SET and RESET


def test_driver_reset_pulses_the_reset_line_and_frames_resume(sensor, gpio):
    driver = open_driver(sensor, gpio)
    heard: list[bool] = []
    gpio.on_change(27, heard.append)
    driver.reset()
    assert heard == [False, True]
    assert driver.read().pm_ug_per_m3(2.5) == 10


def test_held_in_reset_the_sensor_sends_nothing(sensor, gpio):
    driver = open_driver(sensor, gpio)
    driver.set_pin(driver._pin_reset, False)
    held = sensor.frames_sent
    time.sleep(5 * FRAME_INTERVAL)
    assert sensor.frames_sent == held
    driver.set_pin(driver._pin_reset, True)
    assert driver.read().pm_ug_per_m3(2.5) == 10


def test_enable_low_puts_the_sensor_to_sleep_and_high_wakes_it(sensor, gpio):
    driver = open_driver(sensor, gpio)
    lines, enable = gpio.pin(22)
    lines.set_value(enable, pms5003.Value.INACTIVE)
    assert not sensor.running()
    asleep = sensor.frames_sent
    time.sleep(5 * FRAME_INTERVAL)
    assert sensor.frames_sent == asleep
    lines.set_value(enable, pms5003.Value.ACTIVE)
    driver.reset()
    assert driver.read().pm_ug_per_m3(2.5) == 10
    assert sensor.frames_sent > asleep


def test_sensor_runs_with_its_pins_undriven(sensor, gpio):
    # The driver never drives SET: the sensor's own pull-up keeps it running.
    assert gpio.level(22) and gpio.level(27)
    assert sensor.running()


# The line itself


def test_an_unread_line_holds_no_more_than_the_uart_buffer(air, faults, gpio):
    sensor = VirtualPMS5003(air, faults, gpio, frame_interval=0.001, startup_seconds=0)
    sensor.start()
    reader = os.open(sensor.device_path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        wait_until(lambda: sensor.frames_sent >= UART_BUFFER_BYTES // 32)
        time.sleep(0.05)
        waiting = struct.unpack("i", fcntl.ioctl(reader, termios.FIONREAD, b"\0\0\0\0"))[0]
        assert 0 < waiting <= UART_BUFFER_BYTES
        # Frames beyond the buffer are dropped, not queued somewhere else.
        assert sensor.frames_sent <= UART_BUFFER_BYTES // 32 + 1
    finally:
        os.close(reader)
        sensor.stop()


def test_stop_removes_the_device(air, faults, gpio):
    sensor = VirtualPMS5003(air, faults, gpio)
    sensor.start()
    path = sensor.device_path
    assert os.path.realpath(path).startswith("/dev/pts/")
    sensor.stop()
    assert not os.path.exists(path)
    sensor.stop()  # twice is harmless
    with pytest.raises(RuntimeError, match="not started"):
        _ = sensor.device_path
