"""The last accepted sequence number of each node, kept across restarts without wearing the SD card.

Accepting a packet only raises a number in memory; the numbers are written
whole (``durable_file.replace_file``: fsynced, renamed over ``node-sequences.json``) at most
once per ``flush_seconds`` and at shutdown. A power cut therefore forgets
the packets accepted since the last write: a replay of one of those (same
bytes, captured on the network within that window) would be accepted once
more after the restart. docs/nodes.md says so.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from enviro_sensor.clocks import Clock
from enviro_sensor.durable_file import remove_leftover, replace_file

log = logging.getLogger(__name__)

FILE_NAME = "node-sequences.json"
FLUSH_SECONDS = 60.0


class SequenceStore:
    """Last sequence by device id; ``path`` None keeps them in memory only."""

    def __init__(self, path: Path | None, clock: Clock, flush_seconds: float = FLUSH_SECONDS) -> None:
        self._path = path
        self._clock = clock
        self._flush_seconds = flush_seconds
        self._lock = threading.Lock()
        # One write at a time: flushes come from the threads that accept packets.
        self._write_lock = threading.Lock()
        if path is not None:
            remove_leftover(path)
        self._last: dict[int, int] = self._load()
        self._dirty = False
        self._flushed_at = clock.monotonic()
        self.writes = 0

    def _load(self) -> dict[int, int]:
        if self._path is None or not self._path.exists():
            return {}
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
            return {int(device): int(sequence) for device, sequence in data.items()}
        except (OSError, ValueError, AttributeError, TypeError) as err:
            # A file we cannot trust would let every old packet in again: say so loudly.
            log.error(
                "%s unreadable (%s): replayed packets may be accepted until each node sends again",
                self._path,
                err,
            )
            return {}

    def last(self, device: int) -> int | None:
        with self._lock:
            return self._last.get(device)

    def accept(self, device: int, sequence: int) -> bool:
        """Record ``sequence`` if it is newer than the last one; False for a replay."""
        with self._lock:
            last = self._last.get(device)
            if last is not None and sequence <= last:
                return False
            self._last[device] = sequence
            self._dirty = True
            due = self._clock.monotonic() - self._flushed_at >= self._flush_seconds
        if due:
            self.flush()
        return True

    def flush(self) -> None:
        """Write the numbers now if any changed since the last write."""
        with self._write_lock:
            with self._lock:
                if not self._dirty:
                    return
                snapshot = {str(device): sequence for device, sequence in self._last.items()}
                self._dirty = False
                self._flushed_at = self._clock.monotonic()
            if self._path is None:
                return
            try:
                replace_file(self._path, json.dumps(snapshot).encode())
                self.writes += 1
            except OSError as err:
                with self._lock:
                    self._dirty = True
                log.warning("cannot write %s: %s", self._path, err)
