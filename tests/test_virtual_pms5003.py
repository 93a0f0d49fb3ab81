"""The emulated PMS5003, read by the unmodified pms5003 driver over a pty."""

from __future__ import annotations

import dataclasses
import fcntl
import itertools
import os
import struct
import termios

import pms5003
import pytest
import serial

from enviro_sensor.hardware.virtual.clock import ManualClock
from enviro_sensor.hardware.virtual.environment import Conditions
from enviro_sensor.hardware.virtual.faults import Faults
from enviro_sensor.hardware.virtual.gpio import VirtualGpio
from enviro_sensor.hardware.virtual.pms5003 import (
    MAX_CONCENTRATION_UGM3,
    UART_BUFFER_BYTES,
    Command,
    FrameError,
    ParticulateFrame,
    VirtualPMS5003,
    build_frame,
    command_bytes,
    frame_values,
    parse_command,
    parse_frame,
    particle_counts,
)
from enviro_sensor.sensors.pms5003 import SLEEP_COMMAND, WAKE_COMMAND
from enviro_sensor.sensors.pms5003 import command as product_command
from tests.virtual_support import MORNING

# A frame laid out by hand from the data manual's appendix I: PM1.0 5,
# PM2.5 10, PM10 15 ug/m3 (CF=1 and atmospheric); 900, 300, 50, 5, 1, 0
# particles beyond 0.3..10 um per 0.1 L; reserved 0x9700; check code
# 0x42+0x4d+0x1c + 60 + (0x03+0x84) + (0x01+0x2c) + 0x32 + 5 + 1 + 0x97 = 0x026a.
LITERAL_FRAME = bytes.fromhex(
    "42 4d 00 1c  00 05 00 0a 00 0f  00 05 00 0a 00 0f03 84 01 2c 00 32 00 05 00 01 00 00  97 00  02 6a"
)
LITERAL_VALUES = ParticulateFrame(5, 10, 15, 5, 10, 15, counts=(900, 300, 50, 5, 1, 0), reserved=0x9700)

# Seconds; the real sensor sends about once a second. Short, so that a
# driver waiting on the line gets a frame within milliseconds of real time
# on a ManualClock that nobody advances meanwhile.
FRAME_INTERVAL = 0.01
STARTUP = 0.02
# A step past the end of a wait, clear of float rounding.
JUST_PAST = 1e-6
# The driver's serial timeout is 4 s; tests that expect silence make it
# short, and tests that must not wait for a clock advance make a deadlock
# fail sooner.
DRIVER_SERIAL_TIMEOUT = 4.0
SHORT_SERIAL_TIMEOUT = 0.2
NO_DEADLOCK_TIMEOUT = 1.0


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
def clock():
    """A board clock that only the test moves; on-chip waits also end in real time."""
    return ManualClock(MORNING)


@pytest.fixture
def sensor(air, faults, gpio, clock):
    sensor = VirtualPMS5003(
        air, faults, gpio, clock=clock, frame_interval=FRAME_INTERVAL, startup_seconds=STARTUP
    )
    sensor.start()
    yield sensor
    sensor.stop()


@pytest.fixture
def stepped(air, faults, gpio):
    """A sensor whose waits end only when the test advances its clock."""
    clock = ManualClock(MORNING, real_time_waits=False)
    sensor = VirtualPMS5003(
        air, faults, gpio, clock=clock, frame_interval=FRAME_INTERVAL, startup_seconds=STARTUP
    )
    sensor.start()
    yield sensor, clock
    sensor.stop()


def open_driver(sensor, gpio) -> pms5003.PMS5003:
    return pms5003.PMS5003(
        device=sensor.device_path, baudrate=9600, pin_enable=gpio.pin(22), pin_reset=gpio.pin(27)
    )


def drop_sent_frames(sensor, driver) -> None:
    """Let the sensor act on the faults and air as they are now, then drop what it sent before.

    What the service's reader does before a read (flush, then the next
    frame), without the driver's ``reset()``, which sleeps 0.2 s.
    """
    sensor.catch_up()  # a frame being written under the old conditions is out now
    driver._serial.reset_input_buffer()


def step(sensor, clock, seconds: float) -> None:
    """Move the board's clock and wait until the sensor has acted on it."""
    clock.advance(seconds)
    sensor.catch_up()


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
    drop_sent_frames(sensor, driver)
    data = driver.read()
    assert [data.pm_ug_per_m3(size) for size in (1.0, 2.5, 10)] == [30, 45, 80]


def test_frames_arrive_on_a_steady_cadence(sensor, gpio):
    driver = open_driver(sensor, gpio)
    before = sensor.frames_sent
    for _ in range(5):
        driver.read()
    assert sensor.frames_sent >= before + 5


def test_the_board_clock_paces_the_start_up_and_the_frames(stepped):
    sensor, clock = stepped
    sensor.catch_up()
    assert sensor.frames_sent == 0
    step(sensor, clock, STARTUP - 0.001)
    assert sensor.frames_sent == 0  # still starting up
    step(sensor, clock, 0.001 + JUST_PAST)
    assert sensor.frames_sent == 1
    for sent in range(2, 6):
        step(sensor, clock, FRAME_INTERVAL + JUST_PAST)
        assert sensor.frames_sent == sent
    step(sensor, clock, FRAME_INTERVAL / 2)
    assert sensor.frames_sent == 5


def test_a_clock_jump_sends_one_frame_and_no_backlog(stepped):
    sensor, clock = stepped
    step(sensor, clock, STARTUP + JUST_PAST)
    assert sensor.frames_sent == 1
    step(sensor, clock, 3600)
    assert sensor.frames_sent == 2
    sensor.catch_up()
    assert sensor.frames_sent == 2


def test_a_reader_after_a_clock_jump_gets_its_frame_in_real_time(sensor, gpio, clock):
    # Board time far ahead of real time must not hold frames back until
    # real time catches up: each wait ends by whichever clock ends it first.
    driver = open_driver(sensor, gpio)
    driver._serial.timeout = NO_DEADLOCK_TIMEOUT
    clock.advance(3600)
    driver.read()
    before = sensor.frames_sent
    driver.read()
    driver.read()
    assert sensor.frames_sent >= before + 2


def test_corrupt_frames_fail_the_checksum_and_recover(sensor, gpio, faults):
    driver = open_driver(sensor, gpio)
    faults.set("pms5003", "corrupt")
    drop_sent_frames(sensor, driver)
    with pytest.raises(pms5003.ChecksumMismatchError):
        driver.read()
    faults.clear("pms5003")
    drop_sent_frames(sensor, driver)
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
    drop_sent_frames(sensor, driver)
    assert driver.read().pm_ug_per_m3(2.5) > MAX_CONCENTRATION_UGM3


def test_silent_sensor_times_out_in_the_driver_and_recovers(sensor, gpio, faults):
    driver = open_driver(sensor, gpio)
    # The driver's own timeout is 4 s; any timeout shows the line is silent.
    driver._serial.timeout = SHORT_SERIAL_TIMEOUT
    faults.set("pms5003", "silent")
    drop_sent_frames(sensor, driver)
    with pytest.raises(pms5003.SerialTimeoutError):
        driver.read()
    faults.clear("pms5003")
    driver._serial.timeout = DRIVER_SERIAL_TIMEOUT
    assert driver.read().pm_ug_per_m3(10) == 16


def test_silent_sensor_sends_nothing_however_long_it_runs(stepped, faults):
    sensor, clock = stepped
    faults.set("pms5003", "silent")
    for _ in range(5):
        step(sensor, clock, STARTUP + FRAME_INTERVAL)
    assert sensor.frames_sent == 0
    faults.clear("pms5003")
    step(sensor, clock, FRAME_INTERVAL + JUST_PAST)
    assert sensor.frames_sent == 1


def test_absent_sensor_has_no_serial_device_and_comes_back(sensor, gpio, faults):
    faults.set("pms5003", "absent")
    sensor.catch_up()
    assert not os.path.exists(sensor.device_path)
    with pytest.raises(serial.SerialException, match="No such file"):
        open_driver(sensor, gpio)
    faults.clear("pms5003")
    sensor.catch_up()
    assert os.path.exists(sensor.device_path)
    assert open_driver(sensor, gpio).read().pm_ug_per_m3(1.0) == 7


def test_absent_from_the_start(air, faults, gpio):
    faults.set("pms5003", "absent")
    sensor = VirtualPMS5003(air, faults, gpio, frame_interval=FRAME_INTERVAL, startup_seconds=STARTUP)
    sensor.start()
    try:
        assert not os.path.exists(sensor.device_path)
    finally:
        sensor.stop()


def test_catch_up_needs_a_started_sensor(air, faults, gpio):
    sensor = VirtualPMS5003(air, faults, gpio)
    with pytest.raises(RuntimeError, match="not started"):
        sensor.catch_up()


@pytest.mark.parametrize(("interval", "startup"), [(0, 1.0), (-1.0, 1.0), (1.0, -0.5)])
def test_times_must_make_sense(air, faults, gpio, interval, startup):
    with pytest.raises(ValueError):
        VirtualPMS5003(air, faults, gpio, frame_interval=interval, startup_seconds=startup)


# SET and RESET


def test_driver_reset_pulses_the_reset_line_and_frames_resume(sensor, gpio):
    driver = open_driver(sensor, gpio)
    heard: list[bool] = []
    gpio.on_change(27, heard.append)
    driver.reset()
    assert heard == [False, True]
    assert driver.read().pm_ug_per_m3(2.5) == 10


def test_held_in_reset_the_sensor_sends_nothing(sensor, gpio, clock):
    driver = open_driver(sensor, gpio)
    driver.set_pin(driver._pin_reset, False)
    sensor.catch_up()
    held = sensor.frames_sent
    for _ in range(5):
        step(sensor, clock, FRAME_INTERVAL + JUST_PAST)
    assert sensor.frames_sent == held
    driver.set_pin(driver._pin_reset, True)
    assert driver.read().pm_ug_per_m3(2.5) == 10


def test_enable_low_puts_the_sensor_to_sleep_and_high_wakes_it(sensor, gpio, clock):
    driver = open_driver(sensor, gpio)
    lines, enable = gpio.pin(22)
    lines.set_value(enable, pms5003.Value.INACTIVE)
    assert not sensor.running()
    sensor.catch_up()
    asleep = sensor.frames_sent
    for _ in range(5):
        step(sensor, clock, FRAME_INTERVAL + JUST_PAST)
    assert sensor.frames_sent == asleep
    lines.set_value(enable, pms5003.Value.ACTIVE)
    driver.reset()
    assert driver.read().pm_ug_per_m3(2.5) == 10
    assert sensor.frames_sent > asleep


def test_waking_waits_out_the_start_up_time_again(stepped, gpio):
    sensor, clock = stepped
    step(sensor, clock, STARTUP + JUST_PAST)
    assert sensor.frames_sent == 1
    gpio.drive(22, False)
    step(sensor, clock, 10 * FRAME_INTERVAL)
    gpio.drive(22, True)
    step(sensor, clock, STARTUP - 0.001)
    assert sensor.frames_sent == 1  # the fan is spinning up
    step(sensor, clock, 0.001 + JUST_PAST)
    assert sensor.frames_sent == 2


def test_sensor_runs_with_its_pins_undriven(sensor, gpio):
    # The driver never drives SET: the sensor's own pull-up keeps it running.
    assert gpio.level(22) and gpio.level(27)
    assert sensor.running()


# The line itself


def test_an_unread_line_holds_no_more_than_the_uart_buffer(stepped):
    sensor, clock = stepped
    reader = os.open(sensor.device_path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        step(sensor, clock, STARTUP + JUST_PAST)
        for _ in range(UART_BUFFER_BYTES // 32 + 20):
            step(sensor, clock, FRAME_INTERVAL + JUST_PAST)
        waiting = struct.unpack("i", fcntl.ioctl(reader, termios.FIONREAD, b"\0\0\0\0"))[0]
        # 127 whole frames fit in 4095 bytes; frames beyond the buffer are
        # dropped, not queued somewhere else.
        assert sensor.frames_sent == UART_BUFFER_BYTES // 32
        assert waiting == sensor.frames_sent * 32
    finally:
        os.close(reader)


def test_a_sensor_left_to_itself_keeps_the_real_sensors_cadence(air, faults, gpio):
    sensor = VirtualPMS5003(air, faults, gpio)
    assert (sensor.frame_interval, sensor.startup_seconds) == (1.0, 1.0)


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


# Host commands (data manual, appendix II): 42 4D, command, data high and
# low, and the LRC, the sum of the five bytes before it, laid out by hand.
MANUAL_COMMANDS = {
    "passive": (0xE1, 0, "42 4d e1 00 00 01 70"),
    "active": (0xE1, 1, "42 4d e1 00 01 01 71"),
    "read": (0xE2, 0, "42 4d e2 00 00 01 71"),
    "sleep": (0xE4, 0, "42 4d e4 00 00 01 73"),
    "wake": (0xE4, 1, "42 4d e4 00 01 01 74"),
}


def send(driver, name: str) -> None:
    driver._serial.write(bytes.fromhex(MANUAL_COMMANDS[name][2]))
    driver._serial.flush()


@pytest.mark.parametrize("name", sorted(MANUAL_COMMANDS))
def test_command_bytes_match_the_manual(name):
    code, data, literal = MANUAL_COMMANDS[name]
    assert command_bytes(code, data) == bytes.fromhex(literal)
    assert parse_command(bytes.fromhex(literal)) == Command(code, data)
    # The service's own encoder, written apart from the emulation's.
    assert product_command(code, data) == bytes.fromhex(literal)


def test_the_services_sleep_and_wake_commands_are_the_manuals():
    assert bytes.fromhex(MANUAL_COMMANDS["sleep"][2]) == SLEEP_COMMAND
    assert bytes.fromhex(MANUAL_COMMANDS["wake"][2]) == WAKE_COMMAND


def test_parse_command_rejects_a_wrong_lrc():
    with pytest.raises(FrameError, match="LRC"):
        parse_command(bytes.fromhex("42 4d e4 00 00 01 74"))


def test_passive_mode_answers_read_requests_only(stepped, gpio, air):
    sensor, clock = stepped
    driver = open_driver(sensor, gpio)
    step(sensor, clock, STARTUP + JUST_PAST)
    send(driver, "passive")
    step(sensor, clock, JUST_PAST)
    assert sensor.passive
    driver._serial.reset_input_buffer()
    quiet = sensor.frames_sent
    for _ in range(5):
        step(sensor, clock, FRAME_INTERVAL + JUST_PAST)
    assert sensor.frames_sent == quiet
    send(driver, "read")
    sensor.catch_up()
    sensor.catch_up()  # a request written during a pass is taken on the next
    assert sensor.frames_sent == quiet + 1
    assert driver.read().pm_ug_per_m3(2.5) == 10
    send(driver, "active")
    step(sensor, clock, JUST_PAST)
    step(sensor, clock, FRAME_INTERVAL + JUST_PAST)
    assert not sensor.passive and sensor.frames_sent > quiet + 1
    assert [c.code for c in sensor.commands] == [0xE1, 0xE2, 0xE1]


def test_sleep_and_wake_commands_stop_and_restart_the_fan(stepped, gpio):
    sensor, clock = stepped
    driver = open_driver(sensor, gpio)
    step(sensor, clock, STARTUP + JUST_PAST)
    send(driver, "sleep")
    step(sensor, clock, JUST_PAST)
    step(sensor, clock, JUST_PAST)
    assert not sensor.fan_running() and gpio.level(22)  # asleep with SET high
    asleep = sensor.frames_sent
    for _ in range(5):
        step(sensor, clock, FRAME_INTERVAL + JUST_PAST)
    assert sensor.frames_sent == asleep
    send(driver, "wake")
    step(sensor, clock, JUST_PAST)
    step(sensor, clock, JUST_PAST)
    assert sensor.fan_running()
    step(sensor, clock, STARTUP / 2)
    assert sensor.frames_sent == asleep  # quiet while it starts again
    step(sensor, clock, STARTUP / 2 + FRAME_INTERVAL)
    assert sensor.frames_sent > asleep


def test_a_command_with_a_wrong_lrc_is_ignored(stepped, gpio):
    sensor, clock = stepped
    driver = open_driver(sensor, gpio)
    driver._serial.write(bytes.fromhex("42 4d e4 00 00 01 74"))  # sleep, LRC off by one
    driver._serial.flush()
    step(sensor, clock, STARTUP + JUST_PAST)
    step(sensor, clock, JUST_PAST)
    assert sensor.commands_ignored == 1 and sensor.commands == []
    assert sensor.fan_running()


def test_frames_during_the_fans_spin_up_read_low_then_settle(air, faults, gpio):
    clock = ManualClock(MORNING, real_time_waits=False)
    sensor = VirtualPMS5003(
        air, faults, gpio, clock=clock, frame_interval=1.0, startup_seconds=1.0, spin_up_seconds=30.0
    )
    sensor.start()
    try:
        driver = open_driver(sensor, gpio)
        driver._serial.timeout = SHORT_SERIAL_TIMEOUT
        readings = []
        for seconds in (15.0, 31.0):
            driver._serial.reset_input_buffer()
            step(sensor, clock, seconds - clock.monotonic())
            readings.append(driver.read().pm_ug_per_m3(10))
        # Air at 15.6 ug/m3 of PM10: half of it counted half-way through the spin-up.
        assert readings == [round(15.6 * 15 / 30), 16]
        assert sensor.unsettled_frames >= 1
        # Asleep and woken by SET: the spin-up starts over.
        gpio.drive(22, False)
        step(sensor, clock, 5.0)
        assert sensor.fan_speed() == 0.0
        gpio.drive(22, True)
        step(sensor, clock, 15.0)
        assert sensor.fan_speed() == pytest.approx(0.5)
    finally:
        sensor.stop()
