"""The node journal: a remote node's packet is on disk before the node is told ``stored``.

Each accepted packet becomes one line of ``node-journal.log`` in
ENVIRO_DATA_DIR: a CRC-32 and the packet's readings in JSON. Packets that
arrive together share one write and one fsync (group commit): the first
thread to find no write in progress writes every line queued so far,
syncs, hands those packets' readings to the outputs in journal order, and
only then are their nodes answered. A thousand nodes every 10 s cost a few
fsyncs a second, not a hundred.

The outputs that keep readings for good (the history, InfluxDB) say which
entries they have kept (``kept``); entries every one of them has kept are
cut from the journal. What is left at start-up, after a ``kill -9`` or a
power cut, is replayed to those outputs (the history writes a replayed
value only once). A write that fails (a full disk) is cut back off the
file, and its packets are answered ``not_stored``; a line a crash cut
short was never acknowledged, and is cut off when the journal opens.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import threading
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

from enviro_sensor.durable_file import remove_leftover, replace_file
from enviro_sensor.records import Reading

log = logging.getLogger(__name__)

FILE_NAME = "node-journal.log"
# Kept entries are cut from the file once they take this much room.
COMPACT_BYTES = 1024 * 1024
# Past this, entries an output lost (its queue was full) are no longer held
# for it: the journal must not fill the card.
MAX_BYTES = 32 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Entry:
    """One stored packet: the device, its sequence number and its readings."""

    id: int
    device: int
    sequence: int
    readings: tuple[Reading, ...]


def encode(entry: Entry) -> bytes:
    document = {
        "id": entry.id,
        "device": entry.device,
        "sequence": entry.sequence,
        "readings": [
            [r.source, r.sensor, r.group, dict(r.values), r.time, r.fresh_for] for r in entry.readings
        ],
    }
    text = json.dumps(document, separators=(",", ":")).encode()
    return b"%08x %s\n" % (zlib.crc32(text), text)


def decode(line: bytes) -> Entry | None:
    """An entry from one line (no newline); None when the line is not one whole entry."""
    crc, _, text = line.partition(b" ")
    try:
        if int(crc, 16) != zlib.crc32(text):
            return None
        document = json.loads(text)
        readings = tuple(
            Reading(
                source, sensor, group, values, time, 0.0, 0.0, fresh_for=fresh_for, journal=document["id"]
            )
            for source, sensor, group, values, time, fresh_for in document["readings"]
        )
        return Entry(int(document["id"]), int(document["device"]), int(document["sequence"]), readings)
    except (ValueError, TypeError, KeyError):
        return None


@dataclasses.dataclass
class _Slot:
    entry: Entry
    data: bytes
    deliver: Callable[[Entry], None]
    done: bool = False
    error: OSError | None = None


class Consumer:
    """One output's side of the journal."""

    def __init__(self, journal: NodeJournal, name: str) -> None:
        self._journal = journal
        self.name = name

    def kept(self, entry: int) -> None:
        self._journal.confirm(self.name, entry)

    def lost(self, entry: int) -> None:
        self._journal.hold(self.name, entry)


class NodeJournal:
    """``path``'s entries; ``replayed`` holds those found at start-up, oldest first."""

    def __init__(self, path: Path, *, sync: Callable[[int], None] | None = os.fdatasync) -> None:
        """``sync`` flushes the file to the card (``os.fdatasync``; None: left to the kernel)."""
        self.path = path
        self._sync = sync
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_leftover(path)
        self.replayed: list[Entry] = []
        #: (entry id, byte offset where it ends) for every entry in the file.
        self._ends: list[tuple[int, int]] = []
        self._size = self._load()
        self._next_id = (self._ends[-1][0] + 1) if self._ends else 1
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._cond = threading.Condition()
        self._queue: list[_Slot] = []
        self._writing = False
        self._kept: dict[str, int] = {}
        self._held: dict[str, int] = {}
        #: Writes (each one fsync) and entries written since start: the group commit's ratio.
        self.commits = 0
        self.entries = 0

    def _load(self) -> int:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return 0
        offset = 0
        for line in data.split(b"\n")[:-1]:
            entry = decode(line)
            if entry is None:
                break
            offset += len(line) + 1
            self.replayed.append(entry)
            self._ends.append((entry.id, offset))
        if offset < len(data):
            # Never acknowledged: its write was cut short (or the card returned garbage).
            log.warning("%s: cutting off %d bytes after the last whole entry", self.path, len(data) - offset)
            with open(self.path, "r+b") as file:
                file.truncate(offset)
        return offset

    def consumer(self, name: str) -> Consumer:
        """Register an output that keeps readings: entries are kept in the journal until it has them."""
        with self._cond:
            self._kept.setdefault(name, 0)
        return Consumer(self, name)

    def append(
        self, device: int, sequence: int, readings: Sequence[Reading], deliver: Callable[[Entry], None]
    ) -> Entry:
        """Write one packet's readings and return once they are on disk (then ``deliver`` has run).

        Raises OSError when the write failed: the file is as it was, nothing delivered.
        """
        with self._cond:
            entry = Entry(self._next_id, device, sequence, tuple(readings))
            self._next_id += 1
            slot = _Slot(entry, encode(entry), deliver)
            self._queue.append(slot)
            while not slot.done:
                if self._writing:
                    self._cond.wait()
                    continue
                self._writing = True
                batch, self._queue = self._queue, []
                self._cond.release()
                try:
                    self._commit(batch)
                finally:
                    self._cond.acquire()
                    self._writing = False
                    self._cond.notify_all()
        if slot.error is not None:
            raise slot.error
        return entry

    def _commit(self, batch: list[_Slot]) -> None:
        """Write and sync ``batch`` (this thread alone writes), then deliver it in order."""
        data = b"".join(slot.data for slot in batch)
        before = self._size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            if self._sync is not None:
                self._sync(self._fd)
        except OSError as err:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, before)
            for slot in batch:
                slot.error, slot.done = err, True
            return
        offset = before
        ends = []
        for slot in batch:
            offset += len(slot.data)
            ends.append((slot.entry.id, offset))
        with self._cond:
            self._size = offset
            self._ends.extend(ends)
            self.commits += 1
            self.entries += len(batch)
        for slot in batch:
            try:
                slot.deliver(slot.entry)
            except Exception:
                log.exception("node journal: handing entry %d on failed", slot.entry.id)
            slot.done = True
        with self._cond:
            self._compact()

    def confirm(self, name: str, entry: int) -> None:
        with self._cond:
            if entry > self._kept.get(name, 0):
                self._kept[name] = entry
            if not self._writing:
                self._compact()

    def hold(self, name: str, entry: int) -> None:
        with self._cond:
            self._held[name] = min(self._held.get(name, entry), entry)

    def _floor(self) -> int:
        """The last entry every consumer has kept (0 when none is registered... nothing kept)."""
        if not self._kept:
            return 0
        return min(min(kept, self._held.get(name, kept + 1) - 1) for name, kept in self._kept.items())

    def _compact(self) -> None:
        """Cut what every consumer has kept; called with the lock held and no write in progress."""
        if not self._ends:
            return
        if self._size > MAX_BYTES and self._held:
            log.warning(
                "%s: past %d MB; entries held for %s are let go",
                self.path,
                MAX_BYTES >> 20,
                sorted(self._held),
            )
            self._held.clear()
        floor = self._floor()
        done = 0
        while done < len(self._ends) and self._ends[done][0] <= floor:
            done += 1
        if done == 0:
            return
        cut = self._ends[done - 1][1]
        try:
            if done == len(self._ends):
                os.ftruncate(self._fd, 0)
                self._size = 0
                self._ends = []
            elif cut >= COMPACT_BYTES:
                with open(self.path, "rb") as file:
                    file.seek(cut)
                    tail = file.read(self._size - cut)
                replace_file(self.path, tail, sync=self._sync is not None)
                os.close(self._fd)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                self._size = len(tail)
                self._ends = [(entry, end - cut) for entry, end in self._ends[done:]]
        except OSError as err:
            # The entries stay: replayed once more at the next start, which harms nothing.
            log.debug("%s: cannot cut kept entries: %s", self.path, err)

    def pending(self) -> int:
        """Entries in the file."""
        with self._cond:
            return len(self._ends)

    def close(self) -> None:
        with self._cond, contextlib.suppress(OSError):
            os.close(self._fd)
