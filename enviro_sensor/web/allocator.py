"""The C allocator: how many arenas the worker's threads share, and where large blocks go.

glibc's malloc gives each thread that allocates while another holds the
lock an arena of its own, up to eight per core, and an arena keeps what it
once held: a freed block of one thread's arena is reused only by the
threads on that arena. The worker has a thread per sensor group, per
output and per request slot, and drawing on the LCD (Pillow, FreeType)
allocates megabytes in whichever request thread posted the message; with
an arena each, the worker grew by about 14 MB more than with two, and one
holds less again (see docs/benchmarks.md).

Blocks of 128 KiB and more are mapped on their own and go back to the
system when freed. glibc raises that threshold each time such a block is
freed (up to 32 MiB), so after a few large temporary buffers (the noise
group's FFT arrays, a big LCD message's bitmaps) later ones land in the
heap and leave holes it cannot return; a fixed threshold keeps them apart.

``MALLOC_ARENA_MAX``, ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_``
in the environment do the same for a whole process, but only if set before
it starts; the worker sets them on itself, so every way of starting the
service gets them, and leaves each one set in the environment in charge.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

# mallopt's parameter numbers (glibc malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
# One: the threads rarely allocate at the same time here (one LCD drawing
# at a time, sensors polled seconds apart, most allocation under the GIL),
# so a second arena bought little but memory.
DEFAULT_ARENAS = 1
# glibc's own starting threshold, kept from moving.
LARGE_BLOCK_BYTES = 128 * 1024


def _glibc() -> ctypes.CDLL | None:
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return None
    except (ValueError, OSError):  # a C library other than glibc
        return None
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def limit_arenas(count: int = DEFAULT_ARENAS) -> bool:
    """Limit glibc's malloc to ``count`` arenas; True if it took effect.

    An explicit ``MALLOC_ARENA_MAX`` in the environment is left in charge
    (glibc has read it already). Other C libraries (musl) have no arenas
    to limit: nothing happens there.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    libc = _glibc()
    if libc is None:
        return False
    if libc.mallopt(M_ARENA_MAX, count) != 1:
        log.warning("could not limit malloc to %d arenas", count)
        return False
    return True


def keep_large_blocks_apart(threshold: int = LARGE_BLOCK_BYTES) -> bool:
    """Map blocks of ``threshold`` bytes and more on their own, and trim the heap past it.

    True if it took effect; False on another C library, or when the
    environment sets either threshold (left in charge).
    """
    if os.environ.get("MALLOC_MMAP_THRESHOLD_") or os.environ.get("MALLOC_TRIM_THRESHOLD_"):
        return False
    libc = _glibc()
    if libc is None:
        return False
    if libc.mallopt(M_MMAP_THRESHOLD, threshold) != 1 or libc.mallopt(M_TRIM_THRESHOLD, threshold) != 1:
        log.warning("could not fix malloc's mmap threshold at %d bytes", threshold)
        return False
    return True
