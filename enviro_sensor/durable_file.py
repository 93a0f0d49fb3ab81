"""Replacing a small file whole: the old content or the new one, never half, and nothing left beside it.

The data goes to ``.<name>.tmp`` in the same directory (a rename is atomic
only within one file system), is flushed to the card when ``sync`` asks,
and is renamed over the name. A write that fails (a full disk) removes the
temporary file and leaves the old one as it was. The temporary name is the
same for every process, so one left by a process killed before its rename
is overwritten by the next write rather than joined by another, and
``remove_leftover`` clears it at start-up.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def temporary_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


def replace_file(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Replace ``path`` with ``data``; raises OSError with the old file untouched and no temporary left."""
    temporary = temporary_path(path)
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    if sync:
        sync_directory(path.parent)


def sync_directory(directory: Path) -> None:
    """Flush a directory's entries (a rename) to the card; a file system that cannot is left be."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_leftover(path: Path) -> None:
    """Remove the temporary file a killed process may have left beside ``path``."""
    with contextlib.suppress(OSError):
        temporary_path(path).unlink()
