"""An emulated ST7735 LCD: the Enviro+'s 0.96" 160x80 IPS panel on SPI.

The vendor ``st7735.ST7735`` driver talks to ``VirtualPanel.spi`` as it
would to ``spidev.SpiDev(0, 1)``: each ``xfer3`` is a command when the DC
line (GPIO 9) is low and parameters or pixel data when it is high. The panel
decodes the Sitronix ST7735S command set (SWRESET, SLPIN/SLPOUT, INVOFF/INVON,
DISPOFF/DISPON, CASET, RASET, RAMWR, MADCTL, COLMOD) into its 132x162 frame
memory, and ``frame()`` shows what a person looking at the glass sees.

Time: the panel keeps none; every command takes effect at once. The waits
of the set-up (the ST7735S's 120 ms after SLPOUT and the like) are the
vendor driver's own ``time.sleep`` calls in its reset and init sequence,
about a second of real time per set-up, and ``_ST7735OnSpi`` repeats the
vendor constructor's 0.1 s backlight pause as it is.
"""

from __future__ import annotations

import errno
import threading
import time
from typing import TYPE_CHECKING, Any

import gpiodevice  # type: ignore[import-untyped]
import numpy as np
import st7735  # type: ignore[import-untyped]
from PIL import Image

from enviro_sensor.hardware.board import PINS

if TYPE_CHECKING:
    from enviro_sensor.hardware.virtual.faults import Faults
    from enviro_sensor.hardware.virtual.gpio import VirtualGpio

# Frame memory of the ST7735S: 132 columns x 162 rows (datasheet, 8.1).
MEMORY_COLUMNS = 132
MEMORY_ROWS = 162
# The 0.96" glass shows the 80x160 window in the middle of the memory
# (columns 26..105, rows 1..160): the vendor driver's default offsets.
GLASS_LEFT = (MEMORY_COLUMNS - 80) // 2
GLASS_TOP = (MEMORY_ROWS - 160) // 2
GLASS_WIDTH = 80
GLASS_HEIGHT = 160
# This IPS glass is normally black and its colour filter is BGR: colours
# come out right only with inversion on (INVON) and the MADCTL RGB bit set.
GLASS_NEEDS_INVERSION = True
GLASS_IS_BGR = True

# Commands (datasheet, 10.1) and how many parameter bytes the panel acts on.
NOP, SWRESET, SLPIN, SLPOUT = 0x00, 0x01, 0x10, 0x11
INVOFF, INVON, DISPOFF, DISPON = 0x20, 0x21, 0x28, 0x29
CASET, RASET, RAMWR, MADCTL, COLMOD = 0x2A, 0x2B, 0x2C, 0x36, 0x3A
_PARAMETERS = {CASET: 4, RASET: 4, MADCTL: 1, COLMOD: 1}
# MADCTL bits (datasheet, 10.1.27): row/column address order, exchange, colour order.
_MY, _MX, _MV, _BGR = 0x80, 0x40, 0x20, 0x08
# COLMOD interface pixel formats: bytes sent per group of pixels.
_FORMATS = {0x03: (3, 2), 0x05: (2, 1), 0x06: (3, 1)}  # 12, 16, 18 bits per pixel


def _expand(value: np.ndarray, bits: int) -> np.ndarray:
    """An n-bit colour component as 8 bits, repeating its top bits below it."""
    value = value.astype(np.uint16)
    return ((value << (8 - bits)) | (value >> (2 * bits - 8))).astype(np.uint8)


def decode_pixels(data: np.ndarray, colmod: int) -> np.ndarray:
    """Pixel bytes in a COLMOD format as an (n, 3) array of 8-bit R, G, B.

    Bytes after the last whole group are left to the caller.
    """
    size, per_group = _FORMATS.get(colmod & 0x07, _FORMATS[0x06])
    groups = data[: len(data) // size * size].reshape(-1, size).astype(np.uint16)
    if size == 2:  # 16 bits: RRRRRGGG GGGBBBBB
        word = (groups[:, 0] << 8) | groups[:, 1]
        return np.stack([_expand(word >> 11, 5), _expand((word >> 5) & 0x3F, 6), _expand(word & 0x1F, 5)], 1)
    if per_group == 1:  # 18 bits: one byte per colour, top six bits used
        return np.stack([_expand(groups[:, i] >> 2, 6) for i in range(3)], 1)
    # 12 bits: RRRRGGGG BBBBRRRR GGGGBBBB holds two pixels
    nibbles = np.stack([groups >> 4, groups & 0x0F], 2).reshape(-1, 3)
    return _expand(nibbles, 4)


class VirtualSpi:
    """What ``st7735.ST7735`` uses of ``spidev.SpiDev``, wired to a panel."""

    def __init__(self, panel: VirtualPanel) -> None:
        self._panel = panel
        self.mode = 0
        self.lsbfirst = False
        self.max_speed_hz = 0
        self.bits_per_word = 8

    def open(self, bus: int, device: int) -> None:
        """Open /dev/spidev<bus>.<device>: missing when the panel is absent."""
        if self._panel.faults.configured("st7735") == "absent":
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", f"/dev/spidev{bus}.{device}")

    def close(self) -> None:
        """Nothing to release."""

    def xfer3(self, data: list[int] | bytes) -> list[int]:
        """Clock ``data`` out to the panel; the panel never answers (MISO idle)."""
        self._panel.receive(data)
        return [0] * len(data)


class VirtualPanel:
    """The panel's registers and frame memory, fed from its SPI and DC line."""

    def __init__(
        self,
        faults: Faults,
        gpio: VirtualGpio,
        *,
        dc_pin: int = PINS["lcd_dc"],
        backlight_pin: int = PINS["lcd_backlight"],
    ) -> None:
        self.faults = faults
        self._gpio = gpio
        self._dc_pin = dc_pin
        self._backlight_pin = backlight_pin
        self._lock = threading.Lock()
        self._memory = np.zeros((MEMORY_ROWS, MEMORY_COLUMNS, 3), np.uint8)
        self._frames_drawn = 0
        self._pixels_received = 0
        self._power_on()
        self.spi = VirtualSpi(self)

    def _power_on(self) -> None:
        # Values after a reset (datasheet, 9.14); the frame memory is kept.
        self._asleep = True
        self._display_on = False
        self._inverted = False
        self._madctl = 0x00
        self._colmod = 0x06
        self._columns = (0, MEMORY_COLUMNS - 1)
        self._rows = (0, MEMORY_ROWS - 1)
        self._command: int | None = None
        self._parameters: list[int] = []
        self._pending = b""
        self._pointer = 0
        self._drawing = False

    @property
    def backlight_on(self) -> bool:
        """True while the backlight line is high."""
        return self._gpio.level(self._backlight_pin)

    @property
    def display_on(self) -> bool:
        """True when awake (SLPOUT) with the display switched on (DISPON)."""
        with self._lock:
            return self._display_on and not self._asleep

    @property
    def frames_drawn(self) -> int:
        """Memory writes (RAMWR) that carried pixels so far."""
        with self._lock:
            return self._frames_drawn

    @property
    def pixels_received(self) -> int:
        """Pixels written to memory (RAMWR data) so far, whole frames and windows alike."""
        with self._lock:
            return self._pixels_received

    def receive(self, data: list[int] | bytes) -> None:
        """One SPI transfer: a command when DC is low, else data."""
        is_data = self._gpio.level(self._dc_pin)
        with self._lock:
            self._fail_if_faulty(pixels=is_data and self._command == RAMWR)
            payload = np.asarray(data, dtype=np.int64).astype(np.uint8)
            if not is_data:
                for byte in payload.tolist():
                    self._start_command(byte)
            elif self._command == RAMWR:
                self._write_pixels(payload)
            elif self._command in _PARAMETERS:
                self._take_parameters(payload.tolist())

    def frame(self) -> Image.Image | None:
        """What the glass shows, 160x80 RGB as the driver's image; None before any drawing.

        Black while the display is off, asleep or unlit.
        """
        with self._lock:
            if self._frames_drawn == 0:
                return None
            lit = self._display_on and not self._asleep and self._gpio.level(self._backlight_pin)
            window = self._memory[
                GLASS_TOP : GLASS_TOP + GLASS_HEIGHT, GLASS_LEFT : GLASS_LEFT + GLASS_WIDTH
            ].copy()
            inverted, bgr = self._inverted, bool(self._madctl & _BGR)
        if not lit:
            window[:] = 0
        else:
            if bgr != GLASS_IS_BGR:  # red and blue land on each other's sub-pixels
                window = window[:, :, ::-1]
            if inverted != GLASS_NEEDS_INVERSION:
                window = 255 - window
        # How the Enviro+ holds the glass: a reader sees memory column 26
        # along the top edge and memory row 160 at the left, so the vendor's
        # rotation=270 with MADCTL MX|MY comes out upright.
        return Image.fromarray(np.ascontiguousarray(np.rot90(window, 3)), "RGB")

    def _fail_if_faulty(self, *, pixels: bool) -> None:
        fault = self.faults.configured("st7735")
        if fault == "absent":
            raise OSError(errno.ENODEV, "No such device")
        if fault == "ioerror":
            raise OSError(errno.EIO, "Input/output error")
        # Intermittent failures strike frame writes, not the ~60 one-byte
        # transfers of the driver's set-up: a rate per transfer would make the
        # set-up always fail, and the fault look like a steady one.
        if fault == "intermittent" and pixels and self.faults.check("st7735"):
            raise OSError(errno.EIO, "Input/output error")

    def _start_command(self, command: int) -> None:
        self._command = command
        self._parameters = []
        self._drawing = False
        if command == SWRESET:
            self._power_on()
        elif command in (SLPIN, SLPOUT):
            self._asleep = command == SLPIN
        elif command in (INVOFF, INVON):
            self._inverted = command == INVON
        elif command in (DISPOFF, DISPON):
            self._display_on = command == DISPON
        elif command == RAMWR:
            # Writing starts at the window's first column and row (datasheet, 10.1.21).
            self._pointer = 0
            self._pending = b""

    def _take_parameters(self, values: list[int]) -> None:
        if self._command is None:
            return
        needed = _PARAMETERS[self._command]
        self._parameters.extend(values)
        if len(self._parameters) < needed:
            return
        p = self._parameters[:needed]
        if self._command == CASET:
            self._columns = ((p[0] << 8) | p[1], (p[2] << 8) | p[3])
        elif self._command == RASET:
            self._rows = ((p[0] << 8) | p[1], (p[2] << 8) | p[3])
        elif self._command == MADCTL:
            self._madctl = p[0]
        elif self._command == COLMOD:
            self._colmod = p[0]
        self._command = None  # further bytes are not parameters of it

    def _write_pixels(self, payload: np.ndarray) -> None:
        data = np.frombuffer(self._pending + payload.tobytes(), np.uint8)
        size = _FORMATS.get(self._colmod & 0x07, _FORMATS[0x06])[0]
        whole = len(data) // size * size
        self._pending = data[whole:].tobytes()
        colours = decode_pixels(data[:whole], self._colmod)
        (x0, x1), (y0, y1) = self._columns, self._rows
        width, height = x1 - x0 + 1, y1 - y0 + 1
        if len(colours) == 0 or width <= 0 or height <= 0:
            return
        if not self._drawing:
            self._drawing = True
            self._frames_drawn += 1
        self._pixels_received += len(colours)
        # The address counter runs along the window's columns, then rows,
        # and wraps to the window's start after its last pixel.
        position = (self._pointer + np.arange(len(colours))) % (width * height)
        self._pointer = (self._pointer + len(colours)) % (width * height)
        column, row = self._to_memory(x0 + position % width, y0 + position // width)
        inside = (column >= 0) & (column < MEMORY_COLUMNS) & (row >= 0) & (row < MEMORY_ROWS)
        self._memory[row[inside], column[inside]] = colours[inside]

    def _to_memory(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Column/row addresses to memory column/row, per MADCTL MX, MY and MV.

        Each address is mirrored within its own range first, then exchanged.
        """
        exchange = bool(self._madctl & _MV)
        x_span, y_span = (MEMORY_ROWS, MEMORY_COLUMNS) if exchange else (MEMORY_COLUMNS, MEMORY_ROWS)
        if self._madctl & _MX:
            x = x_span - 1 - x
        if self._madctl & _MY:
            y = y_span - 1 - y
        return (y, x) if exchange else (x, y)


class _ST7735OnSpi(st7735.ST7735):
    """The vendor's ST7735 driver, on an SPI object it is given.

    ``st7735.ST7735.__init__`` opens ``spidev.SpiDev(port, cs)`` itself and
    takes no bus. Rather than replace the spidev module (which would reach
    into every other user of it), this ``__init__`` repeats the vendor's
    attribute set-up from st7735 1.0.0 with the given SPI object, then runs
    the vendor's own ``reset()`` and ``_init()``. Every drawing method
    (display, set_window, send, command, data, set_backlight) is the vendor's.
    A test compares the resulting attributes with the vendor's own
    ``__init__``, so an upgrade that changes them is noticed.
    """

    def __init__(
        self,
        spi: Any,
        port: int,
        cs: int,
        dc: Any,
        backlight: Any = None,
        rst: Any = None,
        width: int = st7735.ST7735_TFTWIDTH,
        height: int = st7735.ST7735_TFTHEIGHT,
        rotation: int = 90,
        offset_left: int | None = None,
        offset_top: int | None = None,
        invert: bool = True,
        bgr: bool = True,
        spi_speed_hz: int = 4_000_000,
    ) -> None:
        self._spi = spi
        self._spi.mode = 0
        self._spi.lsbfirst = False
        self._spi.max_speed_hz = spi_speed_hz
        self._width = width
        self._height = height
        self._rotation = rotation
        self._invert = invert
        self._bgr = bgr
        self._bl = None
        self._rst = None
        self._offset_left = (st7735.ST7735_COLS - width) // 2 if offset_left is None else offset_left
        self._offset_top = (st7735.ST7735_ROWS - height) // 2 if offset_top is None else offset_top
        self._dc = gpiodevice.get_pin(dc, "st7735-dc", st7735.OUTL)
        if backlight is not None:
            self._bl = gpiodevice.get_pin(backlight, "st7735-bl", st7735.OUTL)
            self.set_pin(self._bl, False)
            time.sleep(0.1)
            self.set_pin(self._bl, True)
        if rst is not None:
            self._rst = gpiodevice.get_pin(rst, "st7735-rst", st7735.OUTL)
        self.reset()
        self._init()


def enviro_lcd_arguments(dc: Any, backlight: Any) -> dict[str, Any]:
    """The driver arguments for the Enviro+ LCD, as Pimoroni's examples pass them."""
    return {
        "port": 0,
        "cs": 1,
        "dc": dc,
        "backlight": backlight,
        "rotation": 270,
        "spi_speed_hz": 10_000_000,
    }


def open_virtual_st7735(panel: VirtualPanel, gpio: VirtualGpio, **kwargs: Any) -> st7735.ST7735:
    """The vendor st7735 driver, set up on the virtual panel as on the Enviro+.

    ``kwargs`` override the Enviro+ arguments (port 0, cs 1, DC GPIO 9,
    backlight GPIO 12, rotation 270, 10 MHz). Raises FileNotFoundError when
    the panel is absent, as opening /dev/spidev0.1 would, and OSError when a
    transfer fails.
    """
    arguments = enviro_lcd_arguments(gpio.pin(PINS["lcd_dc"]), gpio.pin(PINS["lcd_backlight"]))
    arguments.update(kwargs)
    panel.spi.open(arguments["port"], arguments["cs"])
    return _ST7735OnSpi(panel.spi, **arguments)
