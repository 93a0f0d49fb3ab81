"""The history under faults: a process killed mid-write, a full disk, a read-only directory."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from enviro_sensor.history.database import connect, path_in
from tests.history_support import history_app, poll_for

ROOT = Path(__file__).resolve().parent.parent
BATCH = 500


def _child(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.history_child", *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize("batches_before_kill", [1, 25])
def test_a_process_killed_mid_write_loses_at_most_one_batch(tmp_path, batches_before_kill):
    child = _child("write", str(tmp_path), str(BATCH))
    assert child.stdout is not None
    committed = 0
    try:
        for line in child.stdout:  # ends when the child does
            committed = int(line)
            if committed >= batches_before_kill:
                os.kill(child.pid, signal.SIGKILL)
                break
        # Batches it committed between our reading and its death, as it said.
        for line in child.stdout.read().split():
            committed = int(line)
    finally:
        child.kill()
        child.wait(30)
    assert committed >= batches_before_kill
    db = connect(path_in(tmp_path))  # opens cleanly, migrations and all
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = db.execute("SELECT count(*) FROM raw").fetchone()[0]
    # Every batch it said it committed is there; the one in flight is whole or absent.
    assert rows in (committed * BATCH, (committed + 1) * BATCH), (rows, committed)
    rollups = db.execute("SELECT sum(count) FROM rollup").fetchone()[0]
    assert rollups == rows


def test_a_full_disk_turns_the_history_down_and_nothing_else(tmp_path):
    child = _child("full", str(tmp_path))
    out, _ = child.communicate(timeout=120)
    assert child.returncode == 0
    answer = json.loads(out.strip().splitlines()[-1])
    assert answer["history"]["up"] is False
    assert answer["history"]["connected"] is False
    # SQLite reports the kernel's EFBIG as an I/O error, ENOSPC as "disk is full".
    assert answer["history"]["last_error"] == "OperationalError: disk I/O error"
    assert answer["output_up"] == {"http": 1.0, "prometheus": 1.0, "history": 0.0}
    assert answer["weather_status"] == 200


@contextlib.contextmanager
def _read_only(directory: Path):
    """The directory refuses new files, even to root (immutable), or to others (mode)."""
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(directory)], capture_output=True).returncode != 0:
            pytest.skip("running as root on a file system without chattr +i")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(directory)], check=True)
    else:
        directory.chmod(0o500)
        try:
            yield
        finally:
            directory.chmod(0o700)


@pytest.mark.e2e
def test_a_read_only_directory_turns_the_history_down_until_it_is_writable(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="enviro_sensor.outputs")
    data = tmp_path / "data"
    data.mkdir()
    with _read_only(data):
        polled = history_app(data)
        try:
            poll_for(polled, 2)
            polled.clock.advance(61)
            poll_for(polled, 1)
            outputs = polled.client.get("/api/outputs").get_json()["result"]["outputs"]
            assert outputs["history"]["up"] is False
            assert "unable to open" in outputs["history"]["last_error"]
            assert outputs["http"]["up"] is True
            assert polled.client.get("/api/sensors/weather").status_code == 200
            up = {
                s.labels["output"]: s.value for s in polled.metric_samples() if s.name == "enviro_output_up"
            }
            assert up["history"] == 0.0
        except BaseException:
            polled.close()
            raise
    try:
        polled.clock.advance(61)
        poll_for(polled, 1)
        assert polled.client.get("/api/outputs").get_json()["result"]["outputs"]["history"]["up"] is True
        kept = sqlite3.connect(path_in(data)).execute("SELECT count(DISTINCT time_ms) FROM raw").fetchone()[0]
        assert kept >= 3  # the readings held while it could not write
    finally:
        polled.close()
    assert any("output history is down" in r.getMessage() for r in caplog.records)
    assert any("output history is back" in r.getMessage() for r in caplog.records)
