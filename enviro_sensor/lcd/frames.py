"""Frames to the ST7735, each sent as the rectangle that differs from the last.

A readings page is drawn again for each new reading, and most of it (the
heading, often the value) is what the panel already shows. The ST7735 takes
pixels into a window of its frame memory (CASET/RASET, then RAMWR: Sitronix
ST7735S datasheet 10.1.2-10.1.4), so only the bounding box of the changed
pixels goes over SPI, through the vendor driver's own ``set_window``,
``image_to_data`` and ``data``. A frame that changes nothing sends nothing.

What the panel holds is known only after a write that succeeded: after a
failed one, or with a new driver (the panel set up again), the next frame is
sent whole.
"""

from __future__ import annotations

from typing import Any

from PIL import Image, ImageChops

#: (left, top, right, bottom) in the image's pixels, right and bottom excluded (PIL's boxes).
Box = tuple[int, int, int, int]


def changed_box(shown: Image.Image | None, image: Image.Image) -> Box | None:
    """Where ``image`` differs from ``shown``: the whole image when nothing is known, None when equal."""
    if shown is None or shown.size != image.size or shown.mode != image.mode:
        return (0, 0, *image.size)
    return ImageChops.difference(shown, image).getbbox()


def panel_window(box: Box, size: tuple[int, int], rotation: int) -> tuple[int, int, int, int]:
    """The panel's address window (x0, y0, x1, y1, inclusive) that ``box`` of an image lands in.

    The driver turns each image by ``rotation`` degrees counter-clockwise
    (``numpy.rot90``) before sending it row by row; a crop turned the same way
    fills this window of the turned whole.
    """
    left, top, right, bottom = box
    width, height = size
    if rotation == 0:
        return left, top, right - 1, bottom - 1
    if rotation == 90:
        return top, width - right, bottom - 1, width - 1 - left
    if rotation == 180:
        return width - right, height - bottom, width - 1 - left, height - 1 - top
    if rotation == 270:
        return height - bottom, left, height - 1 - top, right - 1
    raise ValueError(f"rotation {rotation} is not a multiple of 90 degrees")


class FrameSender:
    """Sends images to one st7735 driver, each as what changed since the last."""

    def __init__(self, driver: Any) -> None:
        # Imported with a panel, not with this module: st7735 brings numpy
        # (about 20 MiB), which a service with the LCD off never needs.
        import st7735  # type: ignore[import-untyped]

        self._image_to_data = st7735.image_to_data
        self._driver = driver
        # st7735 (1.0.0) keeps the angle it turns every frame by only as
        # ``_rotation``; a driver without one gets whole frames.
        rotation = getattr(driver, "_rotation", None)
        self._rotation = rotation if rotation in (0, 90, 180, 270) else None
        self._shown: Image.Image | None = None
        #: Pixels sent so far (whole frames and rectangles).
        self.pixels_sent = 0

    def send(self, image: Image.Image) -> None:
        """Bring the panel to ``image``; raises what the driver raises.

        ``image`` is kept to compare the next frame with: it must not be
        changed afterwards (every renderer here makes a new one).
        """
        box = changed_box(self._shown, image)
        if box is None:
            return
        self._shown = None  # a write that fails half-way leaves the panel unknown
        left, top, right, bottom = box
        if self._rotation is None or (right - left, bottom - top) == image.size:
            self._driver.display(image)
        else:
            self._driver.set_window(*panel_window(box, image.size, self._rotation))
            self._driver.data(self._image_to_data(image.crop(box), self._rotation))
        self.pixels_sent += (right - left) * (bottom - top)
        self._shown = image
