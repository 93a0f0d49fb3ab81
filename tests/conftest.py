"""Shared fixtures: an app on the virtual board, its test client, free ports.

Also the rule behind the ``e2e`` marker: a test that starts a program (a
server, a tool, gunicorn, a browser) is marked ``e2e``, so that ``pytest -m
"not e2e"`` needs nothing but the virtual environment. An audit hook sees
every program a test starts, from any thread, and fails an unmarked test
that starts one; only this interpreter may be started freely.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from enviro_sensor.hardware.virtual import ManualClock, VirtualBoard
from tests.app_support import virtual_app
from tests.virtual_support import MORNING, ClockTime


def pytest_xdist_auto_num_workers(config) -> int:
    """Workers for ``-n auto``: one per core, and one more when end-to-end tests run.

    Those spend much of their time waiting for the programs they start
    (gunicorn starting, a browser, a broker), while the cores sit idle; on
    two cores the whole suite took 227 s with two workers and 175 s with
    three (four were no faster). The rest of the suite computes, and an
    extra worker only adds its start-up.
    """
    cores = os.cpu_count() or 1
    return cores if config.option.markexpr == "not e2e" else cores + 1


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry(auto_describe=True)


@pytest.fixture
def app(registry):
    """An app on the virtual board; background work is not started."""
    return virtual_app(registry)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def clock() -> ManualClock:
    """A stopped clock at a morning hour, moved only by the test."""
    return ManualClock(MORNING)


@pytest.fixture
def board(clock) -> VirtualBoard:
    """A virtual board on that clock."""
    return VirtualBoard(seed=7, clock=clock)


# The test running now (its fixtures included), whether it is marked e2e, and
# the programs it started.
_current: dict = {"test": None, "e2e": False, "started": []}
# Events that start a program, with the place of the program in their arguments.
SPAWN_EVENTS = {"subprocess.Popen": 0, "os.posix_spawn": 0, "os.exec": 0}
# Programs any test may start: this interpreter, for children of the test's
# own code (a history writer killed mid-write, a fresh process to see what an
# import pulls in), and ldconfig, which ctypes asks where a library is.
FREE_PROGRAMS = {sys.executable, os.path.realpath(sys.executable)}
FREE_NAMES = {"ldconfig", "ldconfig.real"}


def _program(event: str, args: tuple) -> str:
    program = args[SPAWN_EVENTS[event]]
    if program is None and event == "subprocess.Popen":  # no executable=: the first argument
        command = args[1]
        program = command if isinstance(command, str | bytes | os.PathLike) else command[0]
    return os.fsdecode(program)


def _audit(event: str, args: tuple) -> None:
    # Runs in whichever thread starts the program; it only notes it down
    # (raising here would be caught by product code that handles failures).
    if event in SPAWN_EVENTS and _current["test"] is not None and not _current["e2e"]:
        program = _program(event, args)
        free = {program, os.path.realpath(program)} & FREE_PROGRAMS or os.path.basename(program) in FREE_NAMES
        if not free:
            _current["started"].append(program)


sys.addaudithook(_audit)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _current.update(test=item.nodeid, e2e=item.get_closest_marker("e2e") is not None, started=[])
    try:
        return (yield)
    finally:
        _current.update(test=None, e2e=False, started=[])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    started = sorted(set(_current["started"]))
    if started:
        report = os.environ.get("ENVIRO_TEST_SPAWN_REPORT")
        if not report:
            raise AssertionError(f"this test starts {', '.join(started)}: mark it e2e")
        with open(report, "a") as out:
            print(item.nodeid, *started, file=out)
    return result


@pytest.fixture(scope="session", autouse=True)
def panel_waits_on_a_clock() -> Iterator[ManualClock]:
    """The st7735 driver's set-up sleeps (about a second per panel) pass on a clock of their own.

    The emulated panel keeps no time (every command takes effect at once),
    so nothing else reads that clock. A served app in a child process still
    waits in real time.
    """
    import st7735

    from enviro_sensor.hardware.virtual import st7735 as virtual_st7735

    panel_time = ClockTime(ManualClock())
    saved = st7735.time, virtual_st7735.time
    st7735.time = virtual_st7735.time = panel_time  # type: ignore[assignment]
    try:
        yield panel_time.clock
    finally:
        st7735.time, virtual_st7735.time = saved
