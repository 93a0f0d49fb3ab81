"""Frames to the panel as the rectangle that changed (lcd.frames), on the emulated
ST7735 through the real st7735 driver.

A frame sent as a window must leave the panel exactly as the driver's own
whole-frame ``display()`` does, at every rotation the driver supports.
"""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from enviro_sensor.hardware.virtual.faults import Faults
from enviro_sensor.hardware.virtual.gpio import VirtualGpio
from enviro_sensor.hardware.virtual.st7735 import VirtualPanel, open_virtual_st7735
from enviro_sensor.lcd.frames import FrameSender, changed_box, panel_window
from tests.lcd_support import differing_pixels


def driver_on_panel(rotation: int):
    gpio = VirtualGpio()
    panel = VirtualPanel(Faults(), gpio)
    return panel, open_virtual_st7735(panel, gpio, rotation=rotation)


def picture(size: tuple[int, int], shade: int, spot: tuple[int, int, int, int]) -> Image.Image:
    """A gradient with a coloured box: every pixel tells where it is."""
    width, height = size
    image = Image.new("RGB", size)
    image.putdata([(x * 255 // width, y * 255 // height, shade) for y in range(height) for x in range(width)])
    ImageDraw.Draw(image).rectangle(spot, fill=(250, 30, 200))
    return image


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_a_changed_rectangle_leaves_the_panel_as_a_whole_frame_would(rotation):
    whole_panel, whole_driver = driver_on_panel(rotation)
    part_panel, part_driver = driver_on_panel(rotation)
    size = (whole_driver.width, whole_driver.height)
    first = picture(size, 0, (3, 5, 20, 12))
    # Off-centre, so that a window mirrored or turned the wrong way shows.
    second = first.copy()
    ImageDraw.Draw(second).rectangle(
        (size[0] - 30, size[1] - 17, size[0] - 4, size[1] - 6), fill=(20, 240, 90)
    )
    sender = FrameSender(part_driver)
    sender.send(first)
    assert sender.pixels_sent == size[0] * size[1]  # nothing known: the whole frame
    sent = part_panel.pixels_received
    sender.send(second)
    assert part_panel.pixels_received - sent == 27 * 12  # just the green box
    whole_driver.display(second)
    assert differing_pixels(part_panel.frame(), whole_panel.frame()) == 0


def test_a_frame_that_changes_nothing_sends_nothing():
    panel, driver = driver_on_panel(270)
    sender = FrameSender(driver)
    image = picture((160, 80), 9, (40, 40, 60, 50))
    sender.send(image)
    frames, pixels = panel.frames_drawn, panel.pixels_received
    sender.send(image.copy())
    assert (panel.frames_drawn, panel.pixels_received) == (frames, pixels)


def test_after_a_failed_write_the_next_frame_goes_whole():
    faults = Faults()
    gpio = VirtualGpio()
    panel = VirtualPanel(faults, gpio)
    sender = FrameSender(open_virtual_st7735(panel, gpio))
    first = picture((160, 80), 0, (0, 0, 5, 5))
    sender.send(first)
    faults.set("st7735", "ioerror")
    with pytest.raises(OSError):
        sender.send(picture((160, 80), 0, (100, 30, 110, 40)))
    faults.clear("st7735")
    before = panel.pixels_received
    sender.send(first)  # the panel may hold part of the failed frame: all of it again
    assert panel.pixels_received - before == 160 * 80
    assert differing_pixels(panel.frame(), first) == 0


def test_the_window_of_a_box_at_each_rotation():
    size = (160, 80)
    # The whole image is the whole panel however it is turned.
    assert panel_window((0, 0, 160, 80), size, 270) == (0, 0, 79, 159)
    assert panel_window((0, 0, 160, 80), size, 90) == (0, 0, 79, 159)
    # The top-left pixel of the image: where each turn puts it.
    assert panel_window((0, 0, 1, 1), size, 270) == (79, 0, 79, 0)
    assert panel_window((0, 0, 1, 1), size, 90) == (0, 159, 0, 159)
    assert panel_window((0, 0, 1, 1), (80, 160), 180) == (79, 159, 79, 159)
    assert panel_window((0, 0, 1, 1), (80, 160), 0) == (0, 0, 0, 0)
    with pytest.raises(ValueError):
        panel_window((0, 0, 1, 1), size, 45)


def test_changed_box_is_the_bounding_box_of_the_differences():
    image = Image.new("RGB", (160, 80))
    other = image.copy()
    other.putpixel((10, 70), (1, 0, 0))
    other.putpixel((150, 20), (0, 0, 1))
    assert changed_box(image, other) == (10, 20, 151, 71)
    assert changed_box(image, image.copy()) is None
    assert changed_box(None, image) == (0, 0, 160, 80)
