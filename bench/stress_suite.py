"""The test suite on a busy machine: pytest while every core is kept busy.

A test whose outcome depends on the machine's speed fails here first. Each
run starts ``stress-ng --cpu N`` (Debian package stress-ng) or, without it,
N Python processes that burn CPU, then runs pytest with the given arguments
(bounded by ``--timeout``), stops the load and prints the outcome, the
duration and pytest's slowest tests. The load runs at the same priority as
the suite: that is the point.

Run: ``.venv/bin/python bench/stress_suite.py --runs 3`` (arguments after
``--`` go to pytest, e.g. ``-- -m "not e2e"``). Exits non-zero when a run
did not pass.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BURN = "import itertools\nfor _ in itertools.count(): pass\n"


def start_load(workers: int) -> tuple[subprocess.Popen, ...]:
    """Processes that keep ``workers`` cores busy until stopped."""
    stress = shutil.which("stress-ng")
    if stress:
        # --timeout bounds it even if this script dies without stopping it.
        command = [stress, "--cpu", str(workers), "--timeout", "3h", "--quiet"]
        return (subprocess.Popen(command, start_new_session=True),)
    return tuple(
        subprocess.Popen([sys.executable, "-c", BURN], start_new_session=True) for _ in range(workers)
    )


def stop_load(processes: tuple[subprocess.Popen, ...]) -> None:
    for process in processes:
        # Each load started its own session: stress-ng's workers go with it.
        os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_once(number: int, pytest_args: list[str], workers: int, timeout: float, log: Path) -> bool:
    load = start_load(workers)
    started = time.monotonic()
    command = [sys.executable, "-m", "pytest", "-q", "--durations=15", *pytest_args]
    try:
        with log.open("w") as output:
            suite = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
            try:
                returncode = suite.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                suite.send_signal(signal.SIGINT)  # pytest reports what it has done so far
                try:
                    suite.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    suite.kill()
                    suite.wait()
                returncode = None
            finally:
                if suite.poll() is None:  # this script was stopped: so is the suite
                    suite.terminate()
                    suite.wait()
    finally:
        stop_load(load)
    seconds = time.monotonic() - started
    text = log.read_text(errors="replace")
    summary = next((line.strip("= ") for line in reversed(text.splitlines()) if " in " in line), "")
    outcome = "timed out" if returncode is None else ("passed" if returncode == 0 else f"exit {returncode}")
    print(f"run {number}: {outcome} in {seconds:.0f} s, both cores loaded ({summary})")
    slowest = re.search(r"=+ slowest \d+ durations =+\n(.*?)(?:\n=|\Z)", text, re.DOTALL)
    if slowest:
        for line in slowest.group(1).splitlines():
            print(f"  {line}")
    for line in text.splitlines():
        if line.startswith(("FAILED", "ERROR")):
            print(f"  {line}")
    print(f"  log: {log}", flush=True)
    return returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="runs in a row (default 1)")
    parser.add_argument("--load", type=int, default=os.cpu_count() or 2, help="cores to keep busy (all)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds a run may take (1800)")
    parser.add_argument("--logs", type=Path, help="folder for pytest's output (default: a new temporary one)")
    parser.add_argument("pytest_args", nargs="*", help="arguments for pytest (after --)")
    args = parser.parse_args()
    # Stopped with SIGTERM, the load and the suite are stopped too (the finally clauses).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    args.logs = args.logs or Path(tempfile.mkdtemp(prefix="enviro-stress-"))
    args.logs.mkdir(parents=True, exist_ok=True)
    loader = "stress-ng" if shutil.which("stress-ng") else "Python processes"
    print(f"{args.runs} run(s) of pytest {' '.join(args.pytest_args)}; load: {args.load} cores by {loader}")
    results = [
        run_once(n, args.pytest_args, args.load, args.timeout, args.logs / f"run-{n}.log")
        for n in range(1, args.runs + 1)
    ]
    print(f"{sum(results)} of {len(results)} runs passed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
