"""The Display: owns the board's LCD, draws on it one frame at a time.

The ST7735's set-up sleeps about a second, so the panel is opened on a
background thread and the service starts serving meanwhile. Every access to
the panel holds one lock; a request that cannot have it within
``LOCK_TIMEOUT`` seconds is refused rather than kept waiting. A panel that
cannot be opened or written leaves the service running: the LCD routes
answer 503 with the reason.

Between messages the LCD's own thread shows what ``enviro_sensor.lcd.screen`` decides:
pages of readings (ENVIRO_LCD_MODE=readings) or the start-up screen. A
request only ever draws the message it posts.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from PIL import Image
from prometheus_client import CollectorRegistry

from enviro_sensor.clocks import Clock, SystemClock
from enviro_sensor.lcd.frames import FrameSender
from enviro_sensor.lcd.metrics import LcdMetrics
from enviro_sensor.lcd.options import LcdOptions
from enviro_sensor.lcd.readings import LcdReadings
from enviro_sensor.lcd.render import Rendering, Style, render
from enviro_sensor.lcd.screen import Plan, Screen
from enviro_sensor.lcd.startup import startup_message

log = logging.getLogger(__name__)

# Longest a request waits for the panel (a frame takes ~50 ms at 10 MHz; the
# set-up about a second): past this the answer is 503, never a hung client.
LOCK_TIMEOUT = 2.0
# Longest stop() waits for the set-up thread before switching the light off.
STOP_TIMEOUT = 5.0
# A panel that could not be opened is tried again when someone draws, but
# not more often than this: each attempt costs the driver's ~1 s set-up.
REOPEN_INTERVAL = 10.0
# Longest the LCD's thread sleeps between looks at the screen (real time): a
# page's timer and a message's duration end at most this late. New readings
# and taps wake it sooner.
REFRESH_SECONDS = 1.0


class DisplayUnavailable(Exception):
    """The LCD cannot draw now; the message says why, ``reason`` labels the metric."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _describe(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


class Display:
    """The LCD of one service: start-up screen, posted messages, backlight off at stop."""

    def __init__(
        self,
        options: LcdOptions,
        registry: CollectorRegistry,
        clock: Clock | None = None,
        readings: LcdReadings | None = None,
    ) -> None:
        self.enabled = options.enabled
        self._listen = (options.host, options.port)
        self._lock = threading.Lock()  # held for every use of the panel
        self._board: Any = None
        self._driver: Any = None
        self._sender: FrameSender | None = None
        self._opener: threading.Thread | None = None
        self._opened_at = 0.0
        self._problem: str | None = None if self.enabled else "the LCD is off (ENVIRO_LCD=off)"
        self._last_image: Image.Image | None = None
        self._stopped = False
        self.metrics = LcdMetrics(registry, self.is_up)
        self._clock = clock or SystemClock()
        #: What the readings pages are drawn from (None in messages mode).
        self.readings = readings
        self.screen = Screen(
            options.mode,
            options.page_seconds,
            self._clock,
            readings,
            self._startup_image,
        )
        self._wake = readings.changed if readings is not None else threading.Event()
        self._refresher: threading.Thread | None = None
        self._page_failed_at: float | None = None

    def is_up(self) -> bool:
        """True when the panel is open and its last write succeeded."""
        return self._driver is not None and self._problem is None and not self._stopped

    def _unavailable(self, locked: bool = False) -> tuple[str, str] | None:
        """(metric reason, message) when the panel cannot be drawn on, else None.

        Without the lock, a panel still being set up counts as available: the
        request then waits for the lock like any other.
        """
        if not self.enabled:
            return "off", self._problem or "the LCD is off"
        if self._stopped:
            return "unavailable", "the LCD is stopped"
        if self._opener is None:
            return "unavailable", "the LCD is not started"
        if self._driver is None and (locked or not self._opener.is_alive()):
            return "unavailable", self._problem or "the LCD is still starting"
        return None

    def start(self, board: Any, refresh: bool = True) -> None:
        """Open the board's panel in the background and show the start-up screen.

        ``refresh`` starts the LCD's thread, which shows the readings between
        messages; without it (tests) ``refresh()`` is called by hand.
        """
        if not self.enabled:
            log.info("LCD left alone (ENVIRO_LCD=off)")
            return
        if self._opener is not None:
            return
        self._board = board
        self._start_opener()
        if refresh:
            self._refresher = threading.Thread(target=self._refresh_loop, name="lcd-screen", daemon=True)
            self._refresher.start()

    def _startup_image(self) -> Image.Image:
        # The address is looked up now: at boot the network may come up late.
        return render(startup_message(*self._listen)).image

    def _refresh_loop(self) -> None:
        while not self._stopped:
            self._wake.wait(REFRESH_SECONDS)
            self._wake.clear()
            if self._stopped:
                return
            try:
                self.refresh()
            except Exception:
                # The screen is a nicety: a bug in drawing a page must not
                # end the thread, and a message can still be posted.
                log.exception("the LCD's readings could not be drawn")

    def refresh(self) -> bool:
        """Draw what the screen should show now, if it changed; True when a frame was sent.

        Runs on the LCD's thread (never in a request). A page planned while
        a message arrived is dropped: the message wins.
        """
        if self._unavailable() is not None or self._driver is None:
            return False
        failed_at = self._page_failed_at
        if failed_at is not None and self._clock.monotonic() - failed_at < REOPEN_INTERVAL:
            return False  # the panel failed lately: no error line per reading
        plan = self.screen.plan()
        if plan is None:
            return False
        if not self._lock.acquire(timeout=LOCK_TIMEOUT):
            return False  # a message is being drawn; the next look will see it
        try:
            return self._draw_plan(plan)
        finally:
            self._lock.release()

    def _draw_plan(self, plan: Plan) -> bool:
        if self._unavailable(locked=True) is not None or plan.version != self.screen.version:
            return False
        try:
            self._draw(plan.image)
        except DisplayUnavailable:
            self._page_failed_at = self._clock.monotonic()
            return False
        self._page_failed_at = None
        self.screen.drawn(plan)
        self.metrics.pages.inc()
        return True

    def _start_opener(self) -> None:
        self._opened_at = time.monotonic()
        self._opener = threading.Thread(target=self._open, name="lcd-open", daemon=True)
        self._opener.start()

    def _reopen_if_it_failed(self) -> None:
        """Set the panel up again if the last attempt failed (a cable reseated,
        SPI enabled late), so the LCD never needs a restart of the service."""

        def failed() -> bool:
            return (
                self.enabled
                and not self._stopped
                and self._driver is None
                and self._opener is not None
                and not self._opener.is_alive()
                and time.monotonic() - self._opened_at >= REOPEN_INTERVAL
            )

        # Never wait for the lock here: whoever holds it is using the panel.
        if failed() and self._lock.acquire(blocking=False):
            try:
                if failed():
                    log.info("trying the LCD again")
                    self._start_opener()
            finally:
                self._lock.release()

    def wait_started(self, timeout: float | None = None) -> bool:
        """Wait until the panel's set-up has ended (opened or failed); False on time-out."""
        if self._opener is None:
            return not self.enabled
        self._opener.join(timeout)
        return not self._opener.is_alive()

    def _open(self) -> None:
        with self._lock:
            if self._stopped:
                return
            try:
                driver = self._board.open_lcd()
            # gpiodevice raises SystemExit when there is no GPIO chip at all.
            except (Exception, SystemExit) as err:
                self._problem = f"the LCD could not be opened: {_describe(err)}"
                log.error("%s; the service goes on without it", self._problem)
                return
            self._driver = driver
            self._sender = FrameSender(driver)  # a panel set up anew: the first frame goes whole
            log.info("LCD open")
            try:
                self._draw(self._startup_image())
                self.screen.startup_shown()
            except DisplayUnavailable as err:
                log.error("start-up screen not shown: %s", err)

    def _draw(self, image: Image.Image) -> None:
        """Send ``image`` to the panel; the caller holds the lock."""
        assert self._sender is not None
        try:
            # Only what differs from the panel's last frame crosses the bus.
            self._sender.send(image)
        except Exception as err:
            self._problem = f"the LCD failed to draw: {_describe(err)}"
            log.error("%s", self._problem)
            raise DisplayUnavailable(self._problem, "write_failed") from err
        self._problem = None
        self._last_image = image

    def _refuse_unless_available(self, locked: bool = False) -> None:
        refusal = self._unavailable(locked)
        if refusal is not None:
            reason, message = refusal
            self.metrics.errors.labels(reason).inc()
            raise DisplayUnavailable(message, reason)

    def _acquire(self) -> None:
        if not self._lock.acquire(timeout=LOCK_TIMEOUT):
            self.metrics.errors.labels("busy").inc()
            raise DisplayUnavailable(f"the LCD is busy; try again (waited {LOCK_TIMEOUT:g} s)", "busy")

    def show(self, message: str, style: Style | None = None, duration: float | None = None) -> Rendering:
        """Draw ``message`` and tell what was drawn; raises DisplayUnavailable.

        After ``duration`` seconds the screen goes back to the readings (or
        the start-up screen); without one the message stays until the next.
        """
        self._reopen_if_it_failed()
        self._refuse_unless_available()
        rendering = render(message, style or Style())  # pure: no need to hold the panel meanwhile
        self._acquire()
        try:
            self._refuse_unless_available(locked=True)
            try:
                self._draw(rendering.image)
            except DisplayUnavailable as err:
                self.metrics.errors.labels(err.reason).inc()
                raise
            self.screen.message_shown(duration)
        finally:
            self._lock.release()
        self.metrics.messages.inc()
        return rendering

    def frame(self) -> Image.Image:
        """What the panel shows: read back from it where the board can, else the last
        image sent. Raises DisplayUnavailable when there is nothing to show."""
        refusal = self._unavailable()
        if refusal is not None and refusal[0] == "off":
            raise DisplayUnavailable(refusal[1], "off")
        if not self._lock.acquire(timeout=LOCK_TIMEOUT):
            raise DisplayUnavailable(f"the LCD is busy; try again (waited {LOCK_TIMEOUT:g} s)", "busy")
        try:
            image = None
            if self._driver is not None and not self._stopped:
                try:
                    image = self._board.lcd_frame()
                except Exception as err:
                    log.warning("could not read the LCD back: %s", _describe(err))
            image = image or self._last_image
            refusal = self._unavailable(locked=True)
        finally:
            self._lock.release()
        if image is None:
            raise DisplayUnavailable(refusal[1] if refusal else "nothing has been drawn yet", "unavailable")
        return image

    def stop(self) -> None:
        """Switch the backlight off (the panel keeps its last frame, unlit)."""
        if self._opener is not None:
            self._opener.join(STOP_TIMEOUT)
        if self._refresher is not None:
            self._stopped = True  # the thread draws nothing more
            self._wake.set()
            self._refresher.join(STOP_TIMEOUT)
        if not self._lock.acquire(timeout=STOP_TIMEOUT):
            log.error("LCD still busy at stop; backlight left on")
            return
        try:
            self._stopped = True
            if self._driver is not None:
                try:
                    self._driver.set_backlight(False)
                    log.info("LCD backlight off")
                except Exception as err:
                    log.error("could not switch the LCD backlight off: %s", _describe(err))
        finally:
            self._lock.release()
