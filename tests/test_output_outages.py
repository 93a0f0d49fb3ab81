"""An output that fails says so once, counts the repeats, and says when it is back and what it cost.

The history on a full data directory (a size-capped tmpfs) is the case the
soak found: a line at every flush, readings counted as dropped that were
kept and written later, nothing said at recovery, and an error with no time.
"""

from __future__ import annotations

import logging
import sqlite3

import pytest

from enviro_sensor.history.database import path_in
from tests.disk_support import fill, make_room, needs_root, small_disk
from tests.history_support import FLUSH, history_app, history_output, poll_for


def history_state(polled) -> dict:
    return polled.client.get("/api/outputs").get_json()["result"]["outputs"]["history"]


def raw_rows(data) -> int:
    with sqlite3.connect(path_in(data)) as db:
        return db.execute("SELECT count(*) FROM raw").fetchone()[0]


@needs_root
@pytest.mark.e2e
def test_a_full_disk_is_one_line_down_one_line_back_and_no_reading_counted_lost(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="enviro_sensor.outputs")
    with small_disk(tmp_path / "data", size="2m") as data:
        polled = history_app(data)
        try:
            poll_for(polled, 2, "weather")
            polled.clock.advance(FLUSH)
            poll_for(polled, 1, "weather")
            history_output(polled).flush()
            before = raw_rows(data)
            assert before > 0
            fill(data)
            for _ in range(5):  # five flushes on a full disk
                polled.clock.advance(FLUSH)
                poll_for(polled, 1, "weather")
            polled.service.outputs.drain()
            state = history_state(polled)
            assert state["up"] is False
            assert "full" in state["last_error"] or "I/O" in state["last_error"]
            assert state["last_error_at"].endswith("Z")
            assert state["errors"] == 5
            assert sum(state["dropped"].values()) == 0  # kept, not lost
            held = state["buffered"]
            assert held > 0
            lines = [r.getMessage() for r in caplog.records if "history" in r.getMessage()]
            down = [m for m in lines if "is down" in m or "cannot write" in m]
            assert len(down) == 1, lines

            make_room(data)
            polled.clock.advance(FLUSH)
            poll_for(polled, 1, "weather")
            polled.service.outputs.drain()
            state = history_state(polled)
            assert state["up"] is True and state["buffered"] < held  # what came after the flush waits
            assert state["last_error_at"]  # kept, with its time, after the recovery
            back = [r.getMessage() for r in caplog.records if "history is back" in r.getMessage()]
            assert len(back) == 1, back
            assert f"sent {held} from its buffer" in back[0] and "dropped 0" in back[0]
            assert "after 5 min" in back[0]
        finally:
            polled.close()
