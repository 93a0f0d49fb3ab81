"""The TCP listener under hostile and heavy use: fuzzed packets, slow drips, half-open
connections, a full house, and a thousand nodes at once.

Every refusal is counted: the counters' growth is compared with what a
reference intake (the same code, no network) says each byte stream holds.
Real time is used only for the listener's deadline, made short here.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import random
import resource
import socket
import struct
import threading
import time

import pytest

from enviro_sensor.hardware.virtual import ManualClock
from enviro_sensor.nodes import protocol
from enviro_sensor.nodes.intake import NodeIntake
from enviro_sensor.nodes.protocol import Code
from tests.node_support import doc_devices, doc_examples, journal_in, kitchen_packet, running_listener
from tests.sensor_support import PolledApp

KEY = bytes(range(32))
DEADLINE = 0.3


def valid(sequence: int) -> bytes:
    return kitchen_packet(sequence, battery_mv=3700)


def expected(reference: NodeIntake, data: bytes) -> tuple[list[bytes], list[str]]:
    """The answers a stream should get, and every result it should be counted as."""
    answers, results = [], []
    offset = 0
    while offset < len(data):
        rest = data[offset:]
        if len(rest) < 2:
            results.append("truncated")
            break
        try:
            length = protocol.declared_length(rest)
        except protocol.Refused as refused:
            answers.append(protocol.encode_answer(refused.code, 0, None))
            results.append(refused.code.reason)
            break
        if len(rest) < length:
            results.append("truncated")
            break
        answer = reference.receive(rest[:length])
        answers.append(answer)
        results.append(Code(answer[1]).reason)
        offset += length
    return answers, results


def exchange(port: int, data: bytes) -> bytes:
    """Send ``data``, close our side, and read what comes back until the service closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        received = b""
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError as err:
            # The service answered and closed before we were done sending
            # (reset, broken pipe, or not connected any more by the time we
            # shut our side): what it said is still to be read.
            if not peer_closed(err):
                raise
        try:
            while chunk := sock.recv(4096):
                received += chunk
        except OSError as err:
            if not peer_closed(err):
                raise
        return received


def peer_closed(err: OSError) -> bool:
    """Whether ``err`` is one of the ways a socket tells that its peer closed it."""
    return isinstance(err, ConnectionResetError | BrokenPipeError) or err.errno == errno.ENOTCONN


def tcp_results(intake: NodeIntake) -> collections.Counter[str]:
    return collections.Counter(
        {reason: n for (transport, reason), n in intake.results().items() if transport == "tcp"}
    )


def mutations(rng: random.Random, sequence: int) -> bytes:
    packet = bytearray(valid(sequence))
    choice = rng.randrange(6)
    if choice == 0:  # flip a byte
        packet[rng.randrange(len(packet))] ^= rng.randrange(1, 256)
    elif choice == 1:  # cut short
        del packet[rng.randrange(1, len(packet)) :]
    elif choice == 2:  # a length that lies
        struct.pack_into("<H", packet, 0, rng.randrange(65536))
    elif choice == 3:  # extra bytes inside
        position = rng.randrange(len(packet))
        packet[position:position] = rng.randbytes(rng.randrange(1, 8))
    elif choice == 4:  # two packets in one stream, the second broken
        second = bytearray(valid(sequence))
        second[rng.randrange(2, len(second))] ^= 0xFF
        packet += second
    else:  # a good packet, once
        pass
    return bytes(packet)


def test_fuzzed_streams_never_crash_the_listener_and_every_refusal_is_counted(tmp_path):
    rng = random.Random(14)
    (tmp_path / "served").mkdir()
    (tmp_path / "reference").mkdir()
    intake = NodeIntake(
        doc_devices(), lambda event: None, ManualClock(), journal=journal_in(tmp_path / "served")
    )
    reference = NodeIntake(
        doc_devices(), lambda event: None, ManualClock(), journal=journal_in(tmp_path / "reference")
    )
    counted: collections.Counter[str] = collections.Counter()
    streams = [rng.randbytes(rng.randrange(0, 300)) for _ in range(300)]
    streams += [mutations(rng, sequence) for sequence in range(1, 301)]
    streams += [example.packet for example in doc_examples()]
    with running_listener(intake, deadline=DEADLINE) as listener:
        for data in streams:
            answers, results = expected(reference, data)
            received = exchange(listener.port, data)
            assert b"".join(answers).startswith(received), data.hex()
            if not any(r in ("oversized", "malformed") for r in results[-1:]):
                assert received == b"".join(answers), data.hex()  # nothing was cut off by a reset
            counted.update(results)
        # A good packet still goes through, and the counters add up.
        assert exchange(listener.port, valid(10_000)) == reference.receive(valid(10_000))
        counted["stored"] += 1
        assert listener.open_connections == 0 or _settles(lambda: listener.open_connections == 0)
    assert +tcp_results(intake) == +counted
    assert counted["stored"] > 10 and counted["bad_tag"] > 10 and counted["truncated"] > 10
    assert len(+counted) >= 7


def _settles(condition, seconds: float = 30.0) -> bool:
    # Generous: on a loaded machine the listener's thread may wait long for a core.
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_slow_drips_and_half_open_connections_are_cut_off_at_the_deadline():
    intake = NodeIntake(doc_devices(), lambda event: None, ManualClock())
    with running_listener(intake, deadline=DEADLINE) as listener:

        def drip(results: list) -> None:
            with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as sock:
                received = b""
                try:
                    for byte in valid(1):
                        sock.send(bytes([byte]))
                        time.sleep(DEADLINE / 10)  # 45 bytes: far longer than the deadline
                        sock.setblocking(False)
                        with contextlib.suppress(BlockingIOError):
                            received += sock.recv(64)
                        sock.setblocking(True)
                except OSError:
                    pass  # closed on us: the point
                sock.settimeout(10)
                try:
                    while chunk := sock.recv(64):
                        received += chunk
                except OSError:
                    pass
                results.append(received)

        def silent(results: list, first: bytes) -> None:
            # Half-open: connected, a few bytes or none, and never another word.
            with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as sock:
                sock.sendall(first)
                received = b""
                while chunk := sock.recv(64):
                    received += chunk
                results.append(received)

        drips: list[bytes] = []
        silences: list[bytes] = []
        threads = [threading.Thread(target=drip, args=(drips,)) for _ in range(10)]
        threads += [threading.Thread(target=silent, args=(silences, b"")) for _ in range(10)]
        threads += [threading.Thread(target=silent, args=(silences, valid(2)[:10])) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        truncated = protocol.encode_answer(Code.TRUNCATED, 0, None)
        assert drips == [truncated] * 10
        assert sorted(silences) == [b""] * 10 + [truncated] * 10
        assert listener.idle_closed == 10
        assert _settles(lambda: listener.open_connections == 0)
        # A connection reset in the middle of a packet is counted too.
        with socket.create_connection(("127.0.0.1", listener.port)) as sock:
            sock.sendall(valid(3)[:20])
            time.sleep(0.05)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        assert _settles(lambda: tcp_results(intake)["truncated"] == 21)
        assert exchange(listener.port, valid(4))[1] == Code.ACCEPTED  # no journal: published, not kept
    assert +tcp_results(intake) == collections.Counter(truncated=21, accepted=1)


def test_a_full_listener_answers_busy_and_counts_it():
    intake = NodeIntake(doc_devices(), lambda event: None, ManualClock())
    with running_listener(intake, deadline=5.0, max_connections=3) as listener:
        held = [socket.create_connection(("127.0.0.1", listener.port)) for _ in range(3)]
        try:
            assert _settles(lambda: listener.open_connections == 3)
            assert exchange(listener.port, valid(1)) == protocol.encode_answer(Code.BUSY, 0, None)
        finally:
            for sock in held:
                sock.close()
        assert _settles(lambda: listener.open_connections == 0)
        assert exchange(listener.port, valid(1))[1] == Code.ACCEPTED
    assert +tcp_results(intake) == collections.Counter(busy=1, accepted=1)


# -- a thousand nodes -----------------------------------------------------------

NODES = 1000
ROUNDS = 3
POLLS_PER_ROUND = 5
REQUEST_PAUSE_SECONDS = 0.01


@pytest.fixture
def many_files():
    """Room for both ends of a thousand connections in this one process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4 * NODES + 1024
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"the open-files limit is {hard}; {wanted} needed")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_thousand_nodes_at_once_lose_nothing_and_the_service_serves_on(many_files, tmp_path):
    # With a data directory: every answer waits for its packet's group fsync.
    polled = PolledApp(virtual_nodes=NODES, weather_interval=10.0, data_dir=str(tmp_path))
    service = polled.service
    nodes = service.virtual_nodes
    try:
        with running_listener(service.nodes) as listener:
            nodes.port = listener.port
            answers: list = []
            for _ in range(ROUNDS):
                # Every node wakes on the same second (the worst case), while the
                # collector polls and requests come in.
                sender = threading.Thread(target=lambda: answers.extend(asyncio.run(nodes.round())))
                sender.start()
                replies = []
                polls = 0
                while sender.is_alive():
                    # A few polls a round: each moves the board's clock, and the
                    # nodes' readings must still be current when the round ends,
                    # however long it takes in real time.
                    if polls < POLLS_PER_ROUND:
                        polled.poll("weather")
                        polls += 1
                    replies.append(polled.client.get("/healthz").status_code)
                    replies.append(polled.client.get("/api/sensors").status_code)
                    # Requests at a pace, not a spin: a thread that never waits
                    # makes every other wait 5 ms for the GIL after each socket call.
                    sender.join(REQUEST_PAUSE_SECONDS)
                assert set(replies) == {200}
                weather = polled.client.get("/api/sensors/weather").get_json()["result"]
                assert weather["status"] == "ok"
                polled.clock.advance(10)  # each node's next wake-up
            polled.settle()
        assert answers == [Code.STORED] * NODES * ROUNDS
        assert +tcp_results(service.nodes) == collections.Counter(stored=NODES * ROUNDS)
        views = polled.client.get("/api/nodes").get_json()["result"]["nodes"]
        assert len(views) == NODES
        assert {view["stored"] for view in views} == {ROUNDS}
        # Every packet reached every output: nothing dropped, every node's readings current.
        for state in service.outputs.states():
            assert sum(state.dropped.values()) == 0, state
        remote = service.latest.remote_views()
        assert len(remote) == 2 * NODES
        assert not any(view.stale for view in remote)
        assert service.problems() == []
    finally:
        polled.close()
