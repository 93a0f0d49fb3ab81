"""The real board: what can be checked off a Raspberry Pi."""

from __future__ import annotations

import os

import pytest

from enviro_sensor.hardware.board import Board
from enviro_sensor.hardware.real import RealBoard, read_cpu_temperature
from enviro_sensor.settings import BOARD, load_settings


@pytest.fixture
def settings():
    return load_settings({"ENVIRO_SERIAL_DEVICE": "/dev/ttyAMA0"}).of(BOARD).serial_device


def test_cpu_temperature_is_read_from_millidegrees(tmp_path, settings):
    zone = tmp_path / "temp"
    zone.write_text("48312\n")
    assert read_cpu_temperature(str(zone)) == pytest.approx(48.312)
    assert RealBoard(settings, thermal_zone=str(zone)).cpu_temperature() == pytest.approx(48.312)


def test_a_garbled_thermal_zone_is_a_clear_error(tmp_path):
    zone = tmp_path / "temp"
    zone.write_text("hot\n")
    with pytest.raises(ValueError, match="millidegrees"):
        read_cpu_temperature(str(zone))


def test_pins_are_the_enviro_plus_bcm_numbers(settings):
    board = RealBoard(settings)
    # Pimoroni's Enviro+ pinout: PMS5003 SET and RESET, MICS6814 heater
    # enable, LCD data/command and backlight.
    assert [
        board.driver_pin(name)
        for name in ("pms5003_enable", "pms5003_reset", "gas_heater", "lcd_dc", "lcd_backlight")
    ] == [22, 27, 24, 9, 12]


def test_serial_device_comes_from_the_settings(settings):
    board = RealBoard(settings)
    assert isinstance(board, Board)
    assert board.kind == "real"
    assert board.serial_device() == "/dev/ttyAMA0"


@pytest.mark.skipif(os.path.exists("/dev/i2c-7"), reason="this machine has an I2C bus 7")
def test_a_missing_i2c_bus_fails_on_each_use_and_is_not_kept(settings):
    board = RealBoard(settings)
    for _ in range(2):
        with pytest.raises(FileNotFoundError, match="i2c-7"):
            board.i2c_bus(7)
    board.close()


@pytest.mark.skipif(os.path.exists("/dev/spidev0.1"), reason="this machine has SPI")
def test_without_spi_the_lcd_fails_as_an_os_error(settings):
    with pytest.raises(OSError):
        RealBoard(settings).open_lcd()


def test_one_bus_shared_by_threads_serialises_each_transfer():
    # smbus2 selects the chip and transfers in two steps on one descriptor;
    # a stand-in bus notices any call that starts while another is running.
    import threading
    import time

    from enviro_sensor.hardware.real import SerialisedBus

    class OverlapDetectingBus:
        def __init__(self):
            self.busy = False
            self.overlaps = 0
            self.calls = 0

        def read_byte_data(self, address, register):
            if self.busy:
                self.overlaps += 1
            self.busy = True
            time.sleep(0.001)
            self.calls += 1
            self.busy = False
            return address

    raw = OverlapDetectingBus()
    shared = SerialisedBus(raw)

    def hammer(address):
        for _ in range(50):
            assert shared.read_byte_data(address, 0) == address

    threads = [threading.Thread(target=hammer, args=(address,)) for address in (0x23, 0x38, 0x76, 0x77)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert raw.calls == 200
    assert raw.overlaps == 0
    # Unserialised, the same stand-in does see overlaps: the check can fail.
    threads = [
        threading.Thread(target=lambda: [raw.read_byte_data(1, 0) for _ in range(50)]) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert raw.overlaps > 0
