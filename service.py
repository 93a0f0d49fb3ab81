"""The running service: the board, the collector and the LCD of one app.

It starts once per serving process (gunicorn's worker, or a test that asks),
never at import, so building an app is cheap and touches no hardware.
"""

from __future__ import annotations

import logging
import threading

from prometheus_client import CollectorRegistry

import hardware
from collector import Collector
from lcd.display import Display
from retrievers import build_groups
from sensor_metrics import SensorMetrics
from telemetry import ServiceMetrics
from version import VERSION

log = logging.getLogger(__name__)


class Service:
    """Owns the hardware side of one app and its lifecycle."""

    def __init__(self, settings, registry: CollectorRegistry, board=None) -> None:
        self.settings = settings
        self.registry = registry
        self.board = board
        self.board_kind = board.kind if board is not None else hardware.board_kind(settings.board)
        self.metrics = ServiceMetrics(registry, VERSION, self.board_kind)
        self.collector = Collector(board, build_groups(settings), SensorMetrics(registry))
        self.display = Display(settings, registry)
        self._lock = threading.Lock()
        self._started = False

    @property
    def started(self) -> bool:
        return self._started

    def start(self) -> None:
        """Open the board and start background work; a second call does nothing."""
        with self._lock:
            if self._started:
                return
            if self.board is None:
                self.board = hardware.open_board(self.settings)
            self.collector.board = self.board
            self.collector.start()
            # Opens in the background: the panel's set-up sleeps about a second.
            self.display.start(self.board)
            self._started = True
            log.info("service started on the %s board", self.board_kind)

    def stop(self) -> None:
        """Stop background work and release the board."""
        with self._lock:
            if not self._started:
                return
            self._started = False
            self.collector.stop()
            self.display.stop()  # backlight off while the board is still open
            if self.board is not None:
                self.board.close()
            log.info("service stopped")

    def problems(self) -> list[str]:
        """Reasons the service cannot do its job; empty when it is healthy.

        A failing sensor is not one: restarting would not mend it, and the
        other sensors still serve. Polling that has stopped is.
        """
        if self._started and not self.collector.alive():
            return ["sensor polling has stopped"]
        return []
