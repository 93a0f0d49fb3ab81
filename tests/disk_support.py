"""A small file system that can be filled: the full SD card, for real, as root.

``small_disk`` mounts a tmpfs with a size cap on a test folder; writes past
the cap fail with ENOSPC exactly as on a full card. Mounting needs root;
without it the tests that need a full disk are skipped, saying why.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

FILLER = "filler.bin"


def can_mount() -> bool:
    return os.geteuid() == 0


needs_root = pytest.mark.skipif(
    not can_mount(), reason="a full disk is a size-capped tmpfs, and mounting one needs root"
)


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "256k") -> Iterator[Path]:
    """``folder`` as a tmpfs of ``size``; unmounted afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path, leave: int = 0) -> Path:
    """Take all the room left on ``folder``'s file system but ``leave`` bytes; returns the filler."""
    filler = folder / FILLER
    with open(filler, "ab") as file:
        block = bytes(4096)
        while True:
            free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
            if free <= leave:
                break
            try:
                file.write(block[: max(1, min(len(block), free - leave))])
                file.flush()
            except OSError as err:
                if err.errno != errno.ENOSPC:
                    raise
                break
    return filler


def make_room(folder: Path) -> None:
    """Give the file system its room back."""
    (folder / FILLER).unlink(missing_ok=True)


def leftovers(folder: Path) -> list[str]:
    """Temporary files left in ``folder`` (what an interrupted replace leaves)."""
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp") or ".tmp" in name)
