"""What gunicorn's master and worker cost together, each physical page counted once.

``bench/budget.py --parts memory`` prints RSS (a page the two share, or a
file mapped twice in one process, counted every time) and PSS (each page
divided among every process that maps it). PSS moves with whatever else
runs on the machine: a library page that another program maps too is
counted only in part. This runs the same soak (LCD posts and a reader of
every route) and counts the physical pages the two processes hold, each
once, from ``/proc/<pid>/pagemap`` (root only: others see no page frame
numbers), split into anonymous and file pages, with the sum of ``Pss_Anon``
beside them (anonymous pages are shared with no other program).

Run: ``sudo .venv/bin/python bench/pair_memory.py --minutes 2``. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.budget import server, status, worker_pid  # noqa: E402
from bench.gunicorn_soak import Soak  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")
PRESENT = 1 << 63
FILE_OR_SHARED = 1 << 61
PFN_MASK = (1 << 55) - 1
MIB = 1024.0 * 1024.0


def page_frames(pid: int) -> tuple[set[int], set[int]]:
    """The page frames ``pid`` has present: (anonymous, file-backed)."""
    anon: set[int] = set()
    files: set[int] = set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for line in maps:
            fields = line.split(maxsplit=5)
            start, end = (int(part, 16) for part in fields[0].split("-"))
            if len(fields) > 5 and fields[5].strip() == "[vsyscall]":
                continue
            pagemap.seek(start // PAGE * 8)
            data = pagemap.read((end - start) // PAGE * 8)
            for (entry,) in struct.iter_unpack("<Q", data):
                if entry & PRESENT and entry & PFN_MASK:
                    # A library's written data is anonymous though its mapping has a file.
                    (files if entry & FILE_OR_SHARED else anon).add(entry & PFN_MASK)
    return anon, files


def pss_anon_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss_Anon:"):
            return int(line.split()[1])
    return 0


def figures(master: int, worker: int) -> str:
    m_anon, m_files = page_frames(master)
    w_anon, w_files = page_frames(worker)
    anon, files = len(m_anon | w_anon) * PAGE / MIB, len(m_files | w_files) * PAGE / MIB
    rss = (status(master)["VmRSS"] + status(worker)["VmRSS"]) / 1024
    pss_anon = (pss_anon_kib(master) + pss_anon_kib(worker)) / 1024
    return (
        f"RSS {rss:.1f} MiB; the pair's own pages {anon + files:.1f} MiB "
        f"(anon {anon:.1f}, file {files:.1f}); Pss_Anon {pss_anon:.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0, help="length of the soak")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root: /proc/<pid>/pagemap hides page frame numbers from others")
    with server({"ENVIRO_GAS_WARMUP": "0"}) as (base, process, _spawned):
        worker = worker_pid(process.pid)
        print(f"pair: at start: {figures(process.pid, worker)}", flush=True)
        soak = Soak(base, seed=7)
        threading.Thread(target=soak.reader, daemon=True).start()
        threading.Thread(target=soak.poster, daemon=True).start()
        time.sleep(args.minutes * 60)
        print(f"pair: after {args.minutes:g} min: {figures(process.pid, worker)}", flush=True)
        soak.stop.set()


if __name__ == "__main__":
    main()
