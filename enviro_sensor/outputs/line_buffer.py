"""Lines held for a server that is away: appended whole or not at all, within a size cap.

On disk (``directory/name``) or, with no directory, in memory. An append is
one ``write`` of whole lines to a file opened for appending, then fsync; if
any of it fails (a full disk) the file is cut back to its old length, so it
never holds a partial line for the next append to merge with, and the
caller keeps the batch. A batch that would take the file past its cap is
written, with the newest of the old lines that still fit, to a new file
renamed over the old one (``durable_file``); the oldest lines dropped are
counted by the caller. A file whose last line a ``kill -9`` or power cut
cut short is cut back to its last whole line when opened.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from enviro_sensor.durable_file import remove_leftover, replace_file


def _joined(lines: list[str]) -> bytes:
    return "".join(item + "\n" for item in lines).encode()


class LineBuffer:
    """Lines in order, at most ``limit`` bytes; ``count`` says how many."""

    def __init__(self, path: Path | None, limit: int) -> None:
        self.path = path
        self.limit = limit
        self._memory: list[str] = []
        self._memory_bytes = 0
        if path is not None:
            remove_leftover(path)
            self._repair()
        self.count = len(self.lines())

    def _repair(self) -> None:
        assert self.path is not None
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        whole = data.rfind(b"\n") + 1
        if whole < len(data):
            with open(self.path, "r+b") as file:
                file.truncate(whole)

    def lines(self) -> list[str]:
        if self.path is None:
            return list(self._memory)
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        return [item for item in data.decode(errors="replace").split("\n")[:-1] if item]

    def size(self) -> int:
        if self.path is None:
            return self._memory_bytes
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def add(self, lines: list[str]) -> int:
        """Append ``lines``; returns how many of the oldest were dropped to stay within the cap.

        Raises OSError with the buffer as it was (the caller still holds ``lines``).
        """
        data = _joined(lines)
        if self.size() + len(data) <= self.limit:
            self._append(lines, data)
            return 0
        kept = self.lines() + lines
        total = len(_joined(kept))
        start = 0
        while total > self.limit and start < len(kept):
            total -= len(kept[start].encode()) + 1
            start += 1
        self._replace(kept[start:])
        return start

    def _append(self, lines: list[str], data: bytes) -> None:
        if self.path is None:
            self._memory.extend(lines)
            self._memory_bytes += len(data)
            self.count += len(lines)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            before = os.fstat(fd).st_size
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            except BaseException:
                # Whatever part of the batch reached the file goes: whole batches or nothing.
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, before)
                raise
        finally:
            os.close(fd)
        self.count += len(lines)

    def _replace(self, lines: list[str]) -> None:
        if self.path is None:
            self._memory = list(lines)
            self._memory_bytes = len(_joined(lines))
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            replace_file(self.path, _joined(lines))
        self.count = len(lines)

    def clear(self) -> None:
        self._memory.clear()
        self._memory_bytes = 0
        if self.path is not None:
            self.path.unlink(missing_ok=True)
        self.count = 0
