"""The LCD's Prometheus metrics, on the app's registry."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge

# Why a message did not reach the panel.
ERROR_REASONS = (
    "off",  # ENVIRO_LCD=off
    "unavailable",  # not started yet, or the panel could not be opened
    "busy",  # another drawing held the panel too long
    "write_failed",  # the driver raised while sending the frame
)


class LcdMetrics:
    """Counters of messages drawn and refused, and whether the panel works."""

    def __init__(self, registry: CollectorRegistry, is_up: Callable[[], bool]) -> None:
        self.messages = Counter(
            "enviro_lcd_messages",
            "Messages drawn on the LCD (counted when the frame reached the panel).",
            registry=registry,
        )
        self.errors = Counter(
            "enviro_lcd_errors",
            "Messages that could not be drawn on the LCD, by reason (off, unavailable, busy, write_failed).",
            ["reason"],
            registry=registry,
        )
        self.pages = Counter(
            "enviro_lcd_pages",
            "Readings pages drawn on the LCD between messages (a new page, or new values on the one shown).",
            registry=registry,
        )
        for reason in ERROR_REASONS:
            self.errors.labels(reason)  # every reason reads 0 before its first error
        up = Gauge(
            "enviro_lcd_up",
            "Whether the LCD is open and its last write succeeded (1) or not (0); read at scrape time.",
            registry=registry,
        )
        up.set_function(lambda: 1.0 if is_up() else 0.0)
