"""The C allocator's arenas: how many the worker's threads share.

glibc's malloc gives each thread that allocates while another holds the
lock an arena of its own, up to eight per core, and an arena keeps what it
once held: a freed block of one thread's arena is reused only by the
threads on that arena. The worker has a thread per sensor group, per
output and per request slot, and drawing on the LCD (Pillow, FreeType)
allocates megabytes in whichever request thread posted the message; with
an arena each, the worker grew by about 14 MB more than with two (see
docs/benchmarks.md). ``MALLOC_ARENA_MAX`` in the environment does the same
for a whole process, but only if it is set before the process starts; the
worker sets it on itself, so every way of starting the service gets it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

# mallopt's parameter number for the arena limit (glibc malloc.h).
M_ARENA_MAX = -8
# Two, as MALLOC_ARENA_MAX=2 is commonly set for threaded servers: the
# threads rarely allocate at the same time here (one LCD drawing at a time,
# sensors polled seconds apart), so more arenas buy little but memory.
DEFAULT_ARENAS = 2


def limit_arenas(count: int = DEFAULT_ARENAS) -> bool:
    """Limit glibc's malloc to ``count`` arenas; True if it took effect.

    An explicit ``MALLOC_ARENA_MAX`` in the environment is left in charge
    (glibc has read it already). Other C libraries (musl) have no arenas
    to limit: nothing happens there.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
    except (ValueError, OSError):  # a C library other than glibc
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.mallopt(M_ARENA_MAX, count) != 1:
        log.warning("could not limit malloc to %d arenas", count)
        return False
    return True
