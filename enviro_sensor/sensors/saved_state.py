"""A small JSON file of learned state, kept across restarts in ENVIRO_DATA_DIR.

The gas baseline and the air-quality hours are a few kilobytes that take
hours or days to learn. They are written whole, to a temporary file that
is flushed to the card and renamed over the old one, so a power cut leaves
the old file or the new one, never half of each; and no more often than
the caller's ``every`` seconds, because the SD card is worn by writes.
A file that cannot be read or parsed is logged once and learning starts
afresh: a lost baseline costs a day of learning, a crash loop costs the
service.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from enviro_sensor.durable_file import remove_leftover, replace_file

log = logging.getLogger(__name__)

#: Hourly values by name (a channel, a pollutant): hour since the epoch -> value.
Hourly = dict[str, dict[int, float]]
HOUR_SECONDS = 3600.0


class SavedState:
    """One JSON document in ``directory/name``; with no directory, nothing is kept."""

    def __init__(self, directory: str | os.PathLike[str] | None, name: str, every: float) -> None:
        self.path = Path(directory) / name if directory else None
        if self.path is not None:
            remove_leftover(self.path)
        self.every = every
        self._saved_at: float | None = None

    def load(self, version: int) -> dict[str, Any] | None:
        """The saved document if it is one of ``version``; None when there is none or it is bad."""
        if self.path is None:
            return None
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as err:
            log.warning("%s: cannot read (%s); starting afresh", self.path, err)
            return None
        try:
            document = json.loads(text)
        except ValueError as err:
            log.warning("%s: not JSON (%s); starting afresh", self.path, err)
            return None
        if not isinstance(document, dict) or document.get("version") != version:
            log.warning("%s: not a version %d file; starting afresh", self.path, version)
            return None
        return document

    def due(self, now: float) -> bool:
        """True when ``every`` seconds have passed since the last save (or none was made)."""
        return self.path is not None and (self._saved_at is None or now - self._saved_at >= self.every)

    def load_failed(self, why: str) -> None:
        """The caller found the loaded document unusable: say so once, start afresh."""
        log.warning("%s: %s; starting afresh", self.path, why)

    def save(self, document: dict[str, Any], now: float | None = None) -> None:
        """Replace the file with ``document`` (at ``now``, for ``due``); an error is logged, never raised."""
        if self.path is None:
            return
        if now is not None:
            self._saved_at = now
        try:
            replace_file(self.path, json.dumps(document, separators=(",", ":")).encode())
        except OSError as err:
            log.warning("%s: cannot save (%s)", self.path, err)

    def save_hourly(
        self, version: int, key: str, series: Mapping[str, Mapping[int, float]], now: float | None = None
    ) -> None:
        """Save hourly values by name under ``key``, as ``[[hour, value], ...]`` lists in hour order."""
        values = {
            name: [[hour, value] for hour, value in sorted(hours.items())] for name, hours in series.items()
        }
        self.save({"version": version, "hour_seconds": HOUR_SECONDS, key: values}, now)

    def load_hourly(
        self, version: int, key: str, names: Iterable[str], accept: Callable[[float], bool], refused: str
    ) -> Hourly | None:
        """The hourly values saved by ``save_hourly`` for ``names``; None (logged) when there are none
        or any is not finite or not ``accept``-ed (``refused`` says why in the log)."""
        document = self.load(version)
        if document is None:
            return None
        try:
            loaded = {
                name: {int(hour): float(value) for hour, value in document[key].get(name, [])}
                for name in names
            }
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            self.load_failed(f"unexpected content ({err!r})")
            return None
        if not all(math.isfinite(v) and accept(v) for hours in loaded.values() for v in hours.values()):
            self.load_failed(refused)
            return None
        return loaded
