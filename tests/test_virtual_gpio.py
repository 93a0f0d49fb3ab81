"""The virtual GPIO lines, driven the way the vendor drivers drive pins."""

from __future__ import annotations

import itertools
import threading
import time

import gpiodevice
import pms5003
import st7735
from gpiod.line import Value

from enviro_sensor.hardware.virtual.gpio import VirtualGpio


def test_gpiodevice_passes_the_pin_through_unchanged():
    gpio = VirtualGpio()
    pin = gpio.pin(22)
    # The call both drivers make in their constructors; a real gpiochip
    # lookup here would raise SystemExit on this machine.
    assert gpiodevice.get_pin(pin, "PMS5003_en", pms5003.OUTH) is pin


def test_a_driver_setting_a_pin_changes_its_level():
    gpio = VirtualGpio()
    lines, offset = gpio.pin(9)
    lines.set_value(offset, Value.ACTIVE)
    assert gpio.level(9) is True
    assert lines.get_value(9) == Value.ACTIVE
    lines.set_value(offset, Value.INACTIVE)
    assert gpio.level(9) is False
    assert gpio.level(10) is False  # untouched lines rest low


def test_st7735_drives_data_command_line_through_its_own_set_pin():
    gpio = VirtualGpio()
    seen: list[bool] = []
    gpio.on_change(9, seen.append)
    # set_pin does not touch the instance beyond its arguments.
    st7735.ST7735.set_pin(None, gpio.pin(9), True)
    st7735.ST7735.set_pin(None, gpio.pin(9), False)
    assert seen == [True, False]


def test_listeners_hear_changes_only():
    gpio = VirtualGpio()
    seen: list[bool] = []
    gpio.on_change(27, seen.append)
    for level in (True, True, False, False, True):
        gpio.drive(27, level)
    assert seen == [True, False, True]


def test_a_pull_up_holds_an_undriven_line_high_until_driven():
    gpio = VirtualGpio()
    seen: list[bool] = []
    gpio.on_change(22, seen.append)
    gpio.pull(22, True)
    assert gpio.level(22) is True
    gpio.drive(22, False)
    assert gpio.level(22) is False
    gpio.pull(22, True)  # a driven line ignores its pull
    assert gpio.level(22) is False
    assert seen == [True, False]


def test_set_values_drives_several_lines():
    gpio = VirtualGpio()
    lines, _ = gpio.pin(0)
    lines.set_values({9: Value.ACTIVE, 12: Value.ACTIVE})
    assert gpio.lines() == [9, 12]
    assert lines.get_values() == [Value.ACTIVE, Value.ACTIVE]


def test_listeners_hear_changes_in_order_when_threads_race():
    gpio = VirtualGpio()
    seen: list[bool] = []

    def listener(level: bool) -> None:
        time.sleep(0)  # give the other threads the chance to interleave
        seen.append(level)

    gpio.on_change(12, listener)
    start = threading.Barrier(4)

    def toggle(level: bool) -> None:
        start.wait()
        for _ in range(500):
            gpio.drive(12, level)

    threads = [threading.Thread(target=toggle, args=(n % 2 == 0,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Every announcement is a real change: never the same level twice running,
    # and the last one heard is the level the line holds.
    assert all(a != b for a, b in itertools.pairwise(seen))
    assert seen[-1] == gpio.level(12)
