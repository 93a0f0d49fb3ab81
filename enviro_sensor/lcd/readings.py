"""The LCD's view of the readings: the latest of each sensor, recent values, taps.

The readings pages on the LCD (``enviro_sensor.lcd.screen``) are drawn from what this
output receives, like every other output: it never looks into the
collector. It keeps the recent values of each page's field for the page's
chart, and counts taps: the LTR559's proximity count rising past
``ENVIRO_LCD_TAP_PROXIMITY`` (a hand held over the sensor is one tap, not
one per reading).
"""

from __future__ import annotations

import collections
import dataclasses
import threading
from collections.abc import Mapping

from enviro_sensor.clocks import Clock
from enviro_sensor.lcd.options import LcdOptions
from enviro_sensor.lcd.pages import CHART_POINTS, Page, chart_keys, pages_for
from enviro_sensor.outputs.base import Output, OutputContext
from enviro_sensor.outputs.latest import LatestStore, SensorView
from enviro_sensor.records import LOCAL_SOURCE, Reading, StatusChange
from enviro_sensor.sensors.config import Sensor

# The field whose rise is a tap (the LTR559's proximity count).
PROXIMITY_KEY = "proximity"


@dataclasses.dataclass(frozen=True)
class PageData:
    """What one page shows now: the sensor as a request would see it, and recent values."""

    page: Page
    view: SensorView
    #: The field's last values, oldest first (as published: JSON units).
    recent: tuple[float, ...]


class LcdReadings(Output):
    """Keeps what the LCD's readings pages show; the LCD's thread reads it."""

    name = "lcd"

    def __init__(self, store: LatestStore, pages: tuple[Page, ...], tap_proximity: int) -> None:
        self.store = store
        self.pages = pages
        self.tap_proximity = tap_proximity
        self._charted = chart_keys(pages)
        self._recent: dict[tuple[str, str], collections.deque[float]] = {
            key: collections.deque(maxlen=CHART_POINTS) for key in self._charted
        }
        self._near: dict[str, bool] = {}
        self._taps = 0
        self._lock = threading.Lock()
        #: The sensor whose page is on the screen (None: none yet).
        self._watched: str | None = None
        #: Set by a record of the sensor on the screen, and by a tap: the
        #: LCD's thread wakes to redraw. Other sensors' records (several a
        #: second) wait for their page.
        self.changed = threading.Event()

    def handle_reading(self, reading: Reading) -> None:
        if reading.source != LOCAL_SOURCE:
            return  # the pages are this board's sensors, and a tap is a hand over this board
        self.store.put_reading(reading)
        tapped = False
        with self._lock:
            for key, value in reading.values.items():
                recent = self._recent.get((reading.sensor, key))
                if recent is not None:
                    recent.append(value)
            proximity = reading.values.get(PROXIMITY_KEY)
            if proximity is not None:
                near = proximity >= self.tap_proximity
                tapped = near and not self._near.get(reading.sensor, False)
                if tapped:
                    self._taps += 1
                self._near[reading.sensor] = near
            shown = reading.sensor == self._watched
        if shown or tapped:
            self.changed.set()

    def handle_status(self, change: StatusChange) -> None:
        if change.source != LOCAL_SOURCE:
            return
        self.store.put_status(change)
        with self._lock:
            shown = change.sensor == self._watched
        if shown:
            self.changed.set()

    def watch(self, sensor: str | None) -> None:
        """Wake the LCD's thread for ``sensor``'s records (the page on the screen) from now on."""
        with self._lock:
            self._watched = sensor

    @property
    def taps(self) -> int:
        """Taps seen since the start."""
        with self._lock:
            return self._taps

    def page_data(self, index: int) -> PageData:
        """Page ``index`` as it stands now."""
        page = self.pages[index]
        view = self.store.view(page.sensor)
        with self._lock:
            recent = tuple(self._recent[(page.sensor, page.key)])
        return PageData(page, view, recent)


def readings_output(
    sensors: Mapping[str, Sensor], freshness: Mapping[str, float], clock: Clock, tap_proximity: int
) -> LcdReadings:
    """The output for these sensors (their pages in the table's order)."""
    return LcdReadings(LatestStore(sensors, freshness, clock), pages_for(sensors.values()), tap_proximity)


def from_options(options: LcdOptions, context: OutputContext) -> LcdReadings | None:
    """On while the LCD is on and shows readings (ENVIRO_LCD_MODE=readings)."""
    if not options.shows_readings:
        return None
    return readings_output(context.sensors, context.freshness, context.clock, options.tap_proximity)
