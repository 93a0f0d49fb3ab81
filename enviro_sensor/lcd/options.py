"""The LCD's settings: on or off, what it shows between messages, and the tap that turns a page."""

from __future__ import annotations

import dataclasses

from enviro_sensor.config import parsers
from enviro_sensor.config.declarations import Setting, declare


@dataclasses.dataclass(frozen=True)
class LcdOptions:
    #: on or off (ENVIRO_LCD).
    lcd: str
    mode: str
    page_seconds: float
    tap_proximity: int
    #: Where the service listens, for the start-up screen.
    host: str
    port: int

    @property
    def enabled(self) -> bool:
        return self.lcd == "on"

    @property
    def shows_readings(self) -> bool:
        return self.enabled and self.mode == "readings"


SETTINGS = declare(
    "lcd",
    LcdOptions,
    Setting(
        "lcd",
        "on",
        parsers.choice("on", "off"),
        "`off` leaves the LCD alone (no start-up screen, POST /api/lcd answers 503)",
        env="ENVIRO_LCD",
    ),
    Setting(
        "mode",
        "readings",
        parsers.choice("readings", "messages"),
        "what the LCD shows between posted messages: `readings` (pages of readings with a chart) "
        "or `messages` (the start-up screen and posted messages only)",
    ),
    Setting(
        "page_seconds",
        "10",
        parsers.seconds(2, 3600),
        "seconds each readings page is shown before the next (a tap on the proximity sensor turns it sooner)",
    ),
    Setting(
        "tap_proximity",
        "1000",
        parsers.integer(1, 2047),
        "LTR559 proximity count (0-2047) a hand over the sensor must rise past to turn the readings page",
    ),
    shared=("host", "port"),
)
