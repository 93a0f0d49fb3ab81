"""What the LCD shows when nobody is posting, and when that changes.

The screen is held by the start-up screen or by a posted message for a
while; then, in ``readings`` mode (ENVIRO_LCD_MODE), it shows pages of
readings, turned every ENVIRO_LCD_PAGE_SECONDS or by a tap on the proximity
sensor. In ``messages`` mode it goes back to the start-up screen once a
message's ``duration_seconds`` is over.

- The start-up screen holds the screen for one page interval (a tap ends it
  sooner): long enough to read the address off it.
- A message with ``duration_seconds`` holds it that long; one without holds
  it until the next message, as it always has. Taps meanwhile are ignored.

Time comes from the injected clock; ``Display`` calls ``plan`` on the LCD's
own thread and draws what it answers.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Hashable, Sequence

from PIL import Image

from enviro_sensor.clocks import Clock
from enviro_sensor.lcd.fonts import Face
from enviro_sensor.lcd.readings import LcdReadings
from enviro_sensor.lcd.readings_page import PageContent, page_look, render_page
from enviro_sensor.lcd.render import render

READINGS, MESSAGES = "readings", "messages"
NO_PAGES = "No readings to show"
# Seconds early a page may turn or a message end: sums of float seconds
# come out a hair short of the interval they add up to.
TIME_SLACK = 0.001


@dataclasses.dataclass(frozen=True)
class Plan:
    """An image to draw, what it shows, and the screen's version it was made for."""

    image: Image.Image
    signature: Hashable
    version: int


class Screen:
    """Decides what the LCD shows between messages; thread-safe."""

    def __init__(
        self,
        mode: str,
        page_seconds: float,
        clock: Clock,
        readings: LcdReadings | None,
        startup: Callable[[], Image.Image],
        faces: Sequence[Face] | None = None,
    ) -> None:
        self.mode = mode if readings is not None else MESSAGES
        self.page_seconds = page_seconds
        self._clock = clock
        self._readings = readings
        self._startup = startup
        self._faces = faces
        self._lock = threading.Lock()
        #: What holds the screen ("startup", "message") until when (monotonic).
        self._held_by: str | None = None
        self._held_until = math.inf
        self._page = 0
        self._page_since = 0.0
        self._taps_seen = readings.taps if readings is not None else 0
        self._drawn: Hashable = None
        #: Bumped whenever something else is drawn: a plan made before is stale.
        self.version = 0

    @property
    def page(self) -> int:
        """The index of the page shown (or to be shown after a message)."""
        with self._lock:
            return self._page

    def startup_shown(self) -> None:
        """The start-up screen was drawn; the caller holds the panel."""
        with self._lock:
            self.version += 1
            self._held_by = "startup"
            hold = self.page_seconds if self.mode == READINGS else math.inf
            self._held_until = self._clock.monotonic() + hold
            self._drawn = "startup"

    def message_shown(self, duration: float | None) -> None:
        """A message was drawn, for ``duration`` seconds (None: until the next)."""
        with self._lock:
            self.version += 1
            self._held_by = "message"
            self._held_until = math.inf if duration is None else self._clock.monotonic() + duration
            self._drawn = ("message", self.version)

    def plan(self) -> Plan | None:
        """What to draw now, or None when the panel already shows the right thing."""
        with self._lock:
            now = self._clock.monotonic()
            taps = self._readings.taps if self._readings is not None else 0
            tapped = taps != self._taps_seen
            self._taps_seen = taps
            held = now < self._held_until - TIME_SLACK
            if self._held_by == "message" and held:
                return None
            if self._held_by == "startup" and held and not (tapped and self.mode == READINGS):
                return None
            if self.mode == MESSAGES:
                if self._held_by != "message":
                    return None
                # The message's time is over: back to the start-up screen, for good.
                self._held_by, self._held_until = "startup", math.inf
                return Plan(self._startup(), "startup", self.version)
            if self._held_by is not None:
                # The screen comes back to the page it left.
                self._held_by = None
                self._page_since = now
            elif tapped or now - self._page_since >= self.page_seconds - TIME_SLACK:
                self._page += 1
                self._page_since = now
            return self._page_plan()

    def _page_plan(self) -> Plan | None:
        assert self._readings is not None
        pages = self._readings.pages
        if not pages:
            self._readings.watch(None)
            signature: Hashable = "no pages"
            if signature == self._drawn:
                return None
            return Plan(render(NO_PAGES, faces=self._faces).image, signature, self.version)
        self._page %= len(pages)
        data = self._readings.page_data(self._page)
        # A new reading of this page's sensor wakes the LCD's thread at once;
        # the others' wait for their page (a page turns on the timer or a tap).
        self._readings.watch(data.page.sensor)
        view = data.view
        value = view.values.get(data.page.key) if view.values is not None else None
        note = None if view.status == "ok" else view.status
        if value is not None and view.stale:
            note = "stale"
        content = PageContent(
            data.page.title, data.page.quantity, value, data.recent, note, (self._page + 1, len(pages))
        )
        # What the pixels would be, not which reading they came from: a
        # reading that leaves the value as written and the chart's rows as
        # they were draws nothing and sends nothing to the panel.
        signature = page_look(content)
        if signature == self._drawn:
            return None
        return Plan(render_page(content, self._faces), signature, self.version)

    def drawn(self, plan: Plan) -> None:
        """``plan``'s image reached the panel."""
        with self._lock:
            self._drawn = plan.signature
