"""Every file the service writes is replaced whole or not at all, and leaves no temporary file behind.

The node sequences, the learned gas baseline and air-quality hours, and the
files output's tree are each written beside their name and renamed over it.
On a full disk (a size-capped tmpfs) the write fails: the old file must be
left as it was and nothing else left in the folder. A process killed
between writing the temporary file and renaming it leaves one; the next
write must not leave a second.
"""

from __future__ import annotations

import json
import os

import pytest

from enviro_sensor.durable_file import replace_file
from enviro_sensor.hardware.virtual import ManualClock
from enviro_sensor.nodes.sequences import FILE_NAME, SequenceStore
from enviro_sensor.outputs.files import write_atomically
from enviro_sensor.sensors.saved_state import SavedState
from tests.disk_support import fill, leftovers, make_room, needs_root, small_disk

# Each test starts a real program (a server, mount, or the service's command).
pytestmark = pytest.mark.e2e


@needs_root
def test_the_node_sequences_on_a_full_disk_leave_the_old_file_and_no_temporary_file(tmp_path):
    with small_disk(tmp_path / "data") as data:
        clock = ManualClock(1000.0)
        store = SequenceStore(data / FILE_NAME, clock, flush_seconds=60)
        assert store.accept(1001, 5)
        store.flush()
        fill(data)
        for sequence in range(6, 200):  # a sequence file grown past what is left
            store.accept(sequence * 7919, sequence)
        store.flush()
        assert leftovers(data) == []
        assert json.loads((data / FILE_NAME).read_text()) == {"1001": 5}
        make_room(data)
        store.flush()  # still dirty: written once there is room
        assert len(json.loads((data / FILE_NAME).read_text())) == 195
        assert leftovers(data) == []


@needs_root
def test_learned_state_on_a_full_disk_leaves_the_old_file_and_no_temporary_file(tmp_path):
    with small_disk(tmp_path / "data") as data:
        state = SavedState(data, "gas-baseline-mics6814.json", 600)
        state.save({"version": 1, "values": [1, 2]})
        fill(data)
        state.save({"version": 1, "values": list(range(20000))})
        assert leftovers(data) == []
        assert state.load(1) == {"version": 1, "values": [1, 2]}


@needs_root
def test_the_files_output_on_a_full_disk_leaves_no_temporary_file(tmp_path):
    with small_disk(tmp_path / "tree") as tree:
        write_atomically(tree / "bme280.json", b'{"old": 1}\n')
        fill(tree)
        with pytest.raises(OSError):
            write_atomically(tree / "bme280.json", b"x" * 100_000)
        assert leftovers(tree) == []
        assert (tree / "bme280.json").read_bytes() == b'{"old": 1}\n'


def test_a_temporary_file_left_by_a_killed_process_is_not_joined_by_another(tmp_path):
    target = tmp_path / FILE_NAME
    replace_file(target, b"{}")
    # What a process killed between the write and the rename leaves behind.
    stray = [name for name in os.listdir(tmp_path) if name != FILE_NAME]
    assert stray == []
    (tmp_path / f".{FILE_NAME}.tmp").write_bytes(b'{"1": ')
    SequenceStore(target, ManualClock(0.0))  # a new process starts and cleans up
    replace_file(target, b'{"1": 2}')
    assert sorted(os.listdir(tmp_path)) == [FILE_NAME]
    assert target.read_bytes() == b'{"1": 2}'
