"""The worker's malloc arenas: limited, so threads share what is freed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Eight threads allocate at once, then glibc's own report (malloc_info)
# lists the arenas: one <heap> element each.
ARENAS_AFTER_THREADS = textwrap.dedent(
    """
    import ctypes, ctypes.util, sys, tempfile, threading
    sys.path.insert(0, sys.argv[1])
    from enviro_sensor.web import allocator
    if sys.argv[2] == "limit":
        print("limited" if allocator.limit_arenas(2) else "not limited", file=sys.stderr)
    barrier = threading.Barrier(8)
    kept = []
    def allocate():
        barrier.wait()
        for _ in range(2000):
            kept.append(bytearray(4096))  # beyond pymalloc: malloc itself
    threads = [threading.Thread(target=allocate) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.fopen.restype = ctypes.c_void_p
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    with tempfile.NamedTemporaryFile("r") as report:
        stream = libc.fopen(report.name.encode(), b"w")
        libc.malloc_info(0, stream)
        libc.fclose(stream)
        print(report.read().count("<heap nr="))
    """
)


def probe(script: str, mode: str) -> int:
    """The number ``script`` prints in a fresh interpreter, with no malloc tuning of our own in its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run(
        [sys.executable, "-c", script, str(ROOT), mode],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(done.stdout.strip())


def arenas_used(mode: str) -> int:
    return probe(ARENAS_AFTER_THREADS, mode)


glibc = pytest.mark.skipif(
    not hasattr(os, "confstr") or "CS_GNU_LIBC_VERSION" not in os.confstr_names,
    reason="arenas are glibc's",
)


@glibc
def test_limited_threads_share_two_arenas():
    assert arenas_used("limit") <= 2


@glibc
def test_without_the_limit_threads_take_arenas_of_their_own():
    # What the limit is for: the same threads, left alone, spread out.
    assert arenas_used("free") > 2


def test_an_arena_limit_set_in_the_environment_is_left_in_charge(monkeypatch):
    from enviro_sensor.web import allocator

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert allocator.limit_arenas() is False


# A large block freed raises glibc's threshold, so the next one of the same
# size lands in the heap, unless the threshold is fixed; mallinfo2's hblks
# counts the blocks mapped on their own.
LARGE_BLOCK_AFTER_A_FREE = textwrap.dedent(
    """
    import ctypes, ctypes.util, sys
    sys.path.insert(0, sys.argv[1])
    from enviro_sensor.web import allocator
    if sys.argv[2] == "fixed":
        assert allocator.keep_large_blocks_apart()
    class Info(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                     "uordblks", "fordblks", "keepcost")]
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mallinfo2.restype = Info
    freed = bytearray(4 << 20)  # mapped, then freed: glibc's threshold would rise past 4 MiB
    del freed
    before = libc.mallinfo2().hblks
    block = bytearray(1 << 20)
    print(libc.mallinfo2().hblks - before)
    """
)


def large_blocks_mapped(mode: str) -> int:
    return probe(LARGE_BLOCK_AFTER_A_FREE, mode)


@glibc
def test_large_blocks_stay_mapped_on_their_own_after_one_is_freed():
    assert large_blocks_mapped("fixed") == 1


@glibc
def test_without_the_fixed_threshold_a_large_block_lands_in_the_heap():
    assert large_blocks_mapped("free") == 0


def test_a_threshold_set_in_the_environment_is_left_in_charge(monkeypatch):
    from enviro_sensor.web import allocator

    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert allocator.keep_large_blocks_apart() is False
