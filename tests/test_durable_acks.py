"""A node's ``stored`` means on disk: the node journal, its group commit, its replay and a full disk.

The soak's failure: a ``kill -9`` while a history batch was pending lost
readings from packets already answered ``stored``. Here a service that is
not closed stands for one that was killed: its pending batch never reaches
the history, and the next service on the same directory must find the
readings anyway (tests/test_crash_e2e.py kills a real one).
"""

from __future__ import annotations

import importlib.util
import sqlite3
import threading
from pathlib import Path

import pytest

from enviro_sensor.cli import send_node as node_sender
from enviro_sensor.hardware.virtual import ManualClock
from enviro_sensor.history.database import path_in
from enviro_sensor.nodes import protocol
from enviro_sensor.nodes.intake import NodeIntake
from enviro_sensor.nodes.journal import FILE_NAME, NodeJournal
from enviro_sensor.nodes.protocol import Code
from enviro_sensor.records import Reading
from tests.disk_support import fill, make_room, needs_root, small_disk
from tests.node_support import doc_devices, journal_in, running_listener
from tests.sensor_support import PolledApp
from tests.test_nodes import KEY, packet, send

# Long enough that no batch is written while a test runs, unless it says so.
FLUSH = 3600.0


def history_values(data, sensor: str = "kitchen/bme280") -> dict[int, float]:
    with sqlite3.connect(path_in(data)) as db:
        rows = db.execute(
            "SELECT time_ms, value FROM raw JOIN series ON series.id = raw.series "
            "WHERE sensor = ? AND field = 'temperature_celsius'",
            (sensor,),
        ).fetchall()
        counts = db.execute(
            "SELECT sum(count) FROM rollup JOIN series ON series.id = rollup.series "
            "WHERE sensor = ? AND field = 'temperature_celsius'",
            (sensor,),
        ).fetchone()[0]
    assert counts == len(rows)  # each value counted once in its rollup
    return dict(rows)


def node_app(data, **settings) -> PolledApp:
    return PolledApp(nodes_file=doc_devices(), data_dir=str(data), history_flush=FLUSH, **settings)


def test_a_stored_packet_survives_a_service_that_never_wrote_its_batch(tmp_path):
    killed = node_app(tmp_path)
    try:
        for sequence in range(1, 4):
            killed.clock.advance(1)
            assert send(killed, packet(sequence, temperature=20 + sequence)) is Code.STORED
        assert killed.service.outputs.output("history").pending > 0  # not in the history yet
        assert (tmp_path / FILE_NAME).stat().st_size > 0

        restarted = node_app(tmp_path)
        try:
            restarted.settle()  # the replay reaches the history's thread
            restarted.service.outputs.output("history").flush()
            assert sorted(history_values(tmp_path).values()) == [21.0, 22.0, 23.0]
            # Their sequence numbers came back with them: a replay is refused.
            assert send(restarted, packet(3)) is Code.REPLAYED
        finally:
            restarted.close()
    finally:
        killed.close()  # its batch, written late, is not counted twice
    assert sorted(history_values(tmp_path).values()) == [21.0, 22.0, 23.0]


def test_the_journal_is_cut_once_every_output_that_keeps_readings_has_them(tmp_path):
    polled = node_app(tmp_path)
    try:
        assert send(polled, packet(1)) is Code.STORED
        journal = polled.service.nodes.journal
        assert journal is not None and journal.pending() == 1
        polled.service.outputs.output("history").flush()
        polled.settle()
        assert journal.pending() == 0
        assert (tmp_path / FILE_NAME).stat().st_size == 0
    finally:
        polled.close()


def test_packets_that_arrive_together_share_one_fsync(tmp_path):
    started, release = threading.Event(), threading.Event()
    synced: list[int] = []

    def slow_sync(fd: int) -> None:
        synced.append(fd)
        if len(synced) == 1:  # the first write waits while ten more packets arrive
            started.set()
            release.wait(30)

    journal = NodeJournal(tmp_path / FILE_NAME, sync=slow_sync)
    reading = Reading("kitchen", "bme280", "nodes", {"temperature_celsius": 21.0}, 1.7e9, 0, 0)
    delivered: list[int] = []
    first = threading.Thread(target=journal.append, args=(1, 1, [reading], lambda e: delivered.append(e.id)))
    first.start()
    assert started.wait(30)
    others = [
        threading.Thread(target=journal.append, args=(1, n, [reading], lambda e: delivered.append(e.id)))
        for n in range(2, 12)
    ]
    for thread in others:
        thread.start()
    # Every one of them is queued behind the write in progress before it ends.
    while True:
        with journal._cond:
            if len(journal._queue) == 10:
                break
        threading.Event().wait(0.01)
    release.set()
    for thread in [first, *others]:
        thread.join(30)
    assert (journal.commits, journal.entries) == (2, 11)
    assert delivered == sorted(delivered)  # handed on in journal order


def test_a_line_cut_short_by_a_crash_is_dropped_and_the_rest_replayed(tmp_path):
    journal = NodeJournal(tmp_path / FILE_NAME)
    reading = Reading("kitchen", "bme280", "nodes", {"temperature_celsius": 21.0}, 1.7e9, 0, 0)
    for sequence in (1, 2):
        journal.append(1001, sequence, [reading], lambda entry: None)
    journal.close()
    whole = (tmp_path / FILE_NAME).read_bytes()
    (tmp_path / FILE_NAME).write_bytes(whole + whole.splitlines(keepends=True)[0][:30])
    reopened = NodeJournal(tmp_path / FILE_NAME)
    assert [(e.id, e.sequence) for e in reopened.replayed] == [(1, 1), (2, 2)]
    assert (tmp_path / FILE_NAME).read_bytes() == whole
    entry = reopened.append(1001, 3, [reading], lambda entry: None)
    assert entry.id == 3


def test_without_a_data_directory_the_answer_is_accepted_not_stored():
    polled = PolledApp(nodes_file=doc_devices())
    try:
        answer = protocol.decode_answer(polled.service.nodes.receive(packet(1)), KEY, packet(1)[-16:])
        assert answer.code is Code.ACCEPTED  # signed, so a node can trust it
        reply = polled.client.post(
            "/api/nodes/kitchen/readings",
            json={"sequence": 2, "values": {"bme280.temperature_celsius": 20.0}},
            headers={"Authorization": "Bearer " + KEY.hex()},
        )
        assert reply.status_code == 202
        assert reply.get_json()["result"] == {
            "node": "kitchen",
            "sequence": 2,
            "code": "accepted",
            "accepted": 1,
            "stored": 0,
        }
    finally:
        polled.close()


@needs_root
@pytest.mark.e2e
def test_a_full_disk_answers_not_stored_and_keeps_the_journal_whole(tmp_path):
    with small_disk(tmp_path / "data", size="1m") as data:
        polled = node_app(data)
        try:
            assert send(polled, packet(1)) is Code.STORED
            fill(data)
            # The file's last page may still hold a few entries; then the disk is full.
            answers = []
            for sequence in range(2, 40):
                before = (data / FILE_NAME).read_bytes()
                polled.clock.advance(1)  # a value a millisecond: the history keeps one per series
                answers.append(send(polled, packet(sequence, temperature=30)))
                if answers[-1] is Code.NOT_STORED:
                    break
            assert answers[-1] is Code.NOT_STORED and set(answers[:-1]) <= {Code.STORED}
            assert (data / FILE_NAME).read_bytes() == before  # nothing half-written
            stored = len(answers) - 1
            # A push is smaller than a packet: it may fit where the packet did not.
            for sequence in range(50, 55):
                reply = polled.client.post(
                    "/api/nodes/kitchen/readings",
                    json={"sequence": sequence, "values": {"bme280.temperature_celsius": 30.0}},
                    headers={"Authorization": "Bearer " + KEY.hex()},
                )
                polled.clock.advance(1)
                if reply.status_code != 200:
                    break
                stored += 1
            assert reply.status_code == 503 and reply.headers["Retry-After"] == "60"
            assert "send them again" in reply.get_json()["error"]["message"]
            node = polled.client.get("/api/nodes/kitchen").get_json()["result"]
            assert node["last_refusal"] == "not_stored"
            make_room(data)
            polled.clock.advance(1)
            assert send(polled, packet(60, temperature=24)) is Code.STORED
            polled.service.outputs.output("history").flush()
        finally:
            polled.close()
        assert sorted(history_values(data).values()) == [21.5, 24.0] + [30.0] * stored


def _micropython_sender():
    spec = importlib.util.spec_from_file_location(
        "micropython_node", Path(__file__).resolve().parent.parent / "docs" / "micropython_node.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_senders_tell_stored_from_accepted(tmp_path, capsys):
    sender = _micropython_sender()
    readings = [(0x01, 21.5), (0x22, 45.2), (0x13, 1013.2)]
    arguments = ["--device", "1001", "--key", KEY.hex(), "--value", "f32:21.5"]
    arguments += ["--value", "i16.2:45.2", "--value", "u16.1:1013.2"]
    for journal, code, status in ((journal_in(tmp_path), sender.STORED, 0), (None, sender.ACCEPTED, 3)):
        intake = NodeIntake(doc_devices(), lambda event: None, ManualClock(), journal=journal)
        with running_listener(intake) as listener:
            data = sender.build_packet(1001, 1, 0, 60, 300, readings, KEY)
            answer = sender.send(data, KEY, ("127.0.0.1", listener.port))
            assert answer == code and sender.delivered(answer)
            assert node_sender.main(["--port", str(listener.port), "--sequence", "2", *arguments]) == status
        printed = capsys.readouterr().out
        assert ("not stored" in printed) == (journal is None)
