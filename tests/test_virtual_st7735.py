"""The emulated ST7735 panel, driven by the unmodified st7735 driver."""

from __future__ import annotations

import numpy as np
import pytest
import st7735
from PIL import Image, ImageDraw

from enviro_sensor.hardware.virtual.faults import Faults
from enviro_sensor.hardware.virtual.gpio import VirtualGpio
from enviro_sensor.hardware.virtual.st7735 import (
    CASET,
    COLMOD,
    DISPON,
    INVON,
    MADCTL,
    RAMWR,
    RASET,
    SLPOUT,
    VirtualPanel,
    _ST7735OnSpi,
    open_virtual_st7735,
)

DC, BACKLIGHT = 9, 12
# What RGB565 keeps of each 8-bit component: 5, 6 and 5 bits.
RGB565_STEP = np.array([8, 4, 8])


@pytest.fixture(scope="module")
def board():
    """One panel and driver for the module: the driver's set-up sleeps about a second."""
    gpio = VirtualGpio()
    faults = Faults(seed=0)
    panel = VirtualPanel(faults, gpio)
    display = open_virtual_st7735(panel, gpio)
    return gpio, faults, panel, display


@pytest.fixture
def lcd(board):
    _, faults, _, display = board
    yield board
    faults.clear()
    display.wake()
    display.display_on()
    display.set_backlight(True)


def card() -> Image.Image:
    """A test card: colour bars, a gradient and a corner mark, 160x80."""
    image = Image.new("RGB", (160, 80))
    draw = ImageDraw.Draw(image)
    bars = [
        (255, 255, 255),
        (255, 255, 0),
        (0, 255, 255),
        (0, 255, 0),
        (255, 0, 255),
        (255, 0, 0),
        (0, 0, 255),
    ]
    for i, colour in enumerate(bars):
        draw.rectangle((i * 20, 0, i * 20 + 19, 39), fill=colour)
    for x in range(160):
        draw.line((x, 40, x, 79), fill=(x * 255 // 159, 128, 255 - x * 255 // 159))
    draw.rectangle((0, 0, 4, 4), fill=(10, 20, 30))  # top-left corner: catches a flip
    return image


def assert_same_within_rgb565(shown: Image.Image, drawn: Image.Image) -> None:
    assert shown.size == drawn.size
    assert shown.mode == "RGB"
    difference = np.abs(np.asarray(shown, int) - np.asarray(drawn, int))
    assert (difference < RGB565_STEP).all(), difference.max(axis=(0, 1))


def test_the_drivers_image_comes_back_pixel_for_pixel(lcd):
    _, _, panel, display = lcd
    image = card()
    display.display(image)
    assert_same_within_rgb565(panel.frame(), image)


def test_random_pixels_come_back_in_place(lcd):
    _, _, panel, display = lcd
    pixels = np.random.default_rng(7).integers(0, 256, (80, 160, 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB")
    display.display(image)
    assert_same_within_rgb565(panel.frame(), image)


def test_the_driver_is_set_up_as_on_the_enviro(lcd):
    _, _, panel, display = lcd
    assert (display.width, display.height) == (160, 80)
    assert display._rotation == 270
    assert panel.spi.max_speed_hz == 10_000_000
    assert panel.display_on and panel.backlight_on


def test_each_display_call_is_one_frame(lcd):
    _, _, panel, display = lcd
    before = panel.frames_drawn
    display.display(card())
    display.display(card())
    assert panel.frames_drawn == before + 2


def test_backlight_off_shows_black_and_on_shows_the_image_again(lcd):
    gpio, _, panel, display = lcd
    image = card()
    display.display(image)
    display.set_backlight(False)
    assert not panel.backlight_on
    assert not gpio.level(BACKLIGHT)
    assert np.asarray(panel.frame()).max() == 0
    display.set_backlight(True)
    assert_same_within_rgb565(panel.frame(), image)


@pytest.mark.parametrize(("off", "on"), [("display_off", "display_on"), ("sleep", "wake")])
def test_display_off_or_asleep_shows_black_and_keeps_the_memory(lcd, off, on):
    _, _, panel, display = lcd
    image = card()
    display.display(image)
    getattr(display, off)()
    assert not panel.display_on
    assert np.asarray(panel.frame()).max() == 0
    getattr(display, on)()
    assert_same_within_rgb565(panel.frame(), image)


def test_spi_errors_reach_the_driver_as_oserror(lcd):
    _, faults, panel, display = lcd
    display.display(card())
    drawn = panel.frames_drawn
    for fault in ("ioerror", "absent"):
        faults.set("st7735", fault)
        with pytest.raises(OSError):
            display.display(Image.new("RGB", (160, 80), (255, 0, 0)))
    faults.clear("st7735")
    image = card()
    display.display(image)
    assert panel.frames_drawn == drawn + 1
    assert_same_within_rgb565(panel.frame(), image)


def test_intermittent_fails_some_frames_and_not_others(lcd):
    _, faults, _, display = lcd
    faults.set("st7735", "intermittent")
    failures = 0
    for _ in range(20):
        try:
            display.display(card())
        except OSError:
            failures += 1
    assert 0 < failures < 20


def test_an_absent_panel_cannot_be_opened():
    gpio, faults = VirtualGpio(), Faults()
    faults.set("st7735", "absent")
    with pytest.raises(FileNotFoundError, match=r"spidev0\.1"):
        open_virtual_st7735(VirtualPanel(faults, gpio), gpio)


def test_nothing_drawn_yet_is_none():
    assert VirtualPanel(Faults(), VirtualGpio()).frame() is None


def test_set_up_matches_the_vendors_own_constructor(lcd, monkeypatch):
    """Our constructor repeats st7735 1.0.0's: an upgrade that changes it fails here."""
    gpio, _, panel, display = lcd
    monkeypatch.setattr(st7735.spidev, "SpiDev", lambda port, cs: panel.spi)
    vendor = st7735.ST7735(
        port=0, cs=1, dc=gpio.pin(DC), backlight=gpio.pin(BACKLIGHT), rotation=270, spi_speed_hz=10_000_000
    )
    assert isinstance(display, _ST7735OnSpi)
    assert vars(display) == vars(vendor)


# The command decoder on literal bytes (Sitronix ST7735S command set)


def send(panel: VirtualPanel, gpio: VirtualGpio, command: int, *parameters: int) -> None:
    gpio.drive(DC, False)
    panel.spi.xfer3([command])
    if parameters:
        gpio.drive(DC, True)
        panel.spi.xfer3(list(parameters))


def lit_panel(madctl: int = 0xC8, invert: bool = True) -> tuple[VirtualPanel, VirtualGpio]:
    gpio = VirtualGpio()
    panel = VirtualPanel(Faults(), gpio)
    gpio.drive(BACKLIGHT, True)
    send(panel, gpio, SLPOUT)
    if invert:
        send(panel, gpio, INVON)
    send(panel, gpio, MADCTL, madctl)
    send(panel, gpio, COLMOD, 0x05)
    send(panel, gpio, DISPON)
    return panel, gpio


def test_a_window_of_rgb565_pixels_lands_where_the_driver_expects():
    panel, gpio = lit_panel()
    # Columns 26..27, rows 1..2: the glass's first two columns and rows as
    # the driver addresses them (offsets 26 and 1).
    send(panel, gpio, CASET, 0, 26, 0, 27)
    send(panel, gpio, RASET, 0, 1, 0, 2)
    red, green, blue, white = (0xF8, 0x00), (0x07, 0xE0), (0x00, 0x1F), (0xFF, 0xFF)
    send(panel, gpio, RAMWR, *red, *green, *blue, *white)
    frame = np.asarray(panel.frame())
    # Rotation 270 sends the image turned a quarter clockwise: the first
    # pixel written is the image's bottom-left one, the next is above it.
    assert frame[79, 0].tolist() == [255, 0, 0]
    assert frame[78, 0].tolist() == [0, 255, 0]
    assert frame[79, 1].tolist() == [0, 0, 255]
    assert frame[78, 1].tolist() == [255, 255, 255]
    assert frame[:78].max() == 0


def test_pixel_bytes_may_be_split_across_transfers_and_wrap_the_window():
    panel, gpio = lit_panel()
    send(panel, gpio, CASET, 0, 26, 0, 26)
    send(panel, gpio, RASET, 0, 1, 0, 1)
    send(panel, gpio, RAMWR, 0xF8)
    panel.spi.xfer3([0x00, 0x00])  # completes red, starts the next pixel
    panel.spi.xfer3([0x1F])  # blue, written over the one-pixel window
    assert np.asarray(panel.frame())[79, 0].tolist() == [0, 0, 255]


def test_wrong_inversion_or_colour_order_shows_wrong_colours():
    for madctl, invert, expected in [
        (0xC8, False, [0, 255, 255]),  # inversion off: the IPS glass shows the negative
        (0xC0, True, [0, 0, 255]),  # RGB order on BGR glass: red lands on blue
    ]:
        panel, gpio = lit_panel(madctl, invert)
        send(panel, gpio, CASET, 0, 26, 0, 26)
        send(panel, gpio, RASET, 0, 1, 0, 1)
        send(panel, gpio, RAMWR, 0xF8, 0x00)
        assert np.asarray(panel.frame())[79, 0].tolist() == expected


def test_software_reset_turns_the_display_off_and_to_sleep():
    panel, gpio = lit_panel()
    send(panel, gpio, CASET, 0, 26, 0, 26)
    send(panel, gpio, RASET, 0, 1, 0, 1)
    send(panel, gpio, RAMWR, 0xFF, 0xFF)
    assert panel.display_on
    send(panel, gpio, 0x01)  # SWRESET
    assert not panel.display_on
    assert np.asarray(panel.frame()).max() == 0
