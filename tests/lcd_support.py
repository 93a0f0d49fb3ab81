"""What the LCD tests share: a board with only the emulated panel, and pixel helpers."""

from __future__ import annotations

import string

import numpy as np
from hypothesis import strategies as st
from PIL import Image

from enviro_sensor.hardware.board import Board
from enviro_sensor.hardware.virtual.faults import Faults
from enviro_sensor.hardware.virtual.gpio import VirtualGpio
from enviro_sensor.hardware.virtual.st7735 import VirtualPanel, open_virtual_st7735
from tests.app_support import virtual_app


class PanelBoard(Board):
    """A board with the emulated ST7735 and the real st7735 driver, and nothing else.

    It keeps the LCD tests to the LCD: no sensor answers.
    """

    kind = "virtual"

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.gpio = VirtualGpio()
        self.panel = VirtualPanel(self.faults, self.gpio)
        self.opened = 0

    def open_lcd(self):
        self.opened += 1
        return open_virtual_st7735(self.panel, self.gpio)

    def lcd_frame(self):
        return self.panel.frame()

    def i2c_bus(self, number: int = 1):
        raise OSError("no I2C bus on this test board")

    def driver_pin(self, name: str):
        raise OSError("no pins on this test board")

    def serial_device(self) -> str:
        raise OSError("no serial port on this test board")

    def cpu_temperature(self) -> float:
        raise OSError("no CPU sensor on this test board")


def app_with_panel(board: Board, registry, **settings):
    """An app whose LCD is open on ``board`` (waits for the panel's set-up)."""
    app = virtual_app(registry, board=board, **settings)
    display = app.extensions["enviro"].display
    display.start(board)
    assert display.wait_started(30)
    return app


def rgb565(image: Image.Image) -> np.ndarray:
    """The image as the panel stores it: 5 bits of red, 6 of green, 5 of blue."""
    pixels = np.asarray(image.convert("RGB")).astype(np.uint16)
    return np.stack([pixels[..., 0] >> 3, pixels[..., 1] >> 2, pixels[..., 2] >> 3], axis=-1)


def differing_pixels(a: Image.Image, b: Image.Image) -> int:
    """How many pixels differ once both images are quantised to RGB565."""
    assert a.size == b.size, (a.size, b.size)
    return int(np.any(rgb565(a) != rgb565(b), axis=-1).sum())


def ink(image: Image.Image, background: tuple[int, int, int] = (0, 0, 0)) -> tuple[int, int, int, int] | None:
    """Bounding box of the pixels that differ from the background, or None."""
    plain = Image.new("RGB", image.size, background)
    return Image.frombytes(
        "L", image.size, (np.any(np.asarray(image) != np.asarray(plain), axis=-1) * 255).astype(np.uint8)
    ).getbbox()


def message_kinds(max_size: int) -> dict[str, st.SearchStrategy[str]]:
    """Messages by where layout goes wrong, for property tests to share their examples out.

    Words that wrap at the margin and shrink the size, lines broken by hand,
    one long word that must itself be broken, and text of any code points
    (other scripts and emoji fall back to another face or the box).
    """
    word = st.text(alphabet=string.ascii_letters + string.digits + ".,:-/°%", min_size=1, max_size=24)
    unbreakable = st.characters(exclude_categories=("Zs", "Zl", "Zp", "Cc"))
    return {
        "words": st.lists(word, max_size=max_size // 8).map(" ".join).map(lambda s: s[:max_size]),
        "lines": st.lists(st.text(max_size=40), max_size=16).map("\n".join).map(lambda s: s[:max_size]),
        "one-long-word": st.text(alphabet=unbreakable, min_size=1, max_size=max_size),
        "any": st.text(max_size=max_size),
    }
