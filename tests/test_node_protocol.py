"""The packet protocol against its specification: the worked examples of docs/nodes.md.

The examples are read from the document itself, so the document and the
code cannot drift apart: each packet is decoded as the text says, and the
service answers it with exactly the bytes shown, in the document's order.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import socket
import struct

import pytest

from enviro_sensor.cli import send_node as node_sender
from enviro_sensor.hardware.virtual import ManualClock
from enviro_sensor.nodes import protocol
from enviro_sensor.nodes.intake import NodeIntake
from enviro_sensor.nodes.protocol import Code, Encoding, Measurement, Packet
from tests.node_support import DOC, doc_devices, doc_examples, journal_in, running_listener

KEY = bytes(range(32))


def stored_example():
    return next(e for e in doc_examples() if e.case == "stored")


# Codes no packet of the examples can bring: the listener's limit, and the disk's answers.
DISK_CODES = (Code.BUSY, Code.ACCEPTED, Code.NOT_STORED)


def test_the_document_has_an_example_of_every_refusal_but_busy():
    cases = {example.case for example in doc_examples()}
    # accepted and not_stored say what the service's disk did, not what the
    # packet was: tests/test_durable_acks.py has them.
    assert cases == {code.reason for code in Code} - {"busy", "accepted", "not_stored"}
    assert doc_devices()[0].key == KEY


def test_every_worked_example_is_answered_as_documented(tmp_path):
    published = []
    intake = NodeIntake(doc_devices(), published.append, ManualClock(), journal=journal_in(tmp_path))
    for example in doc_examples():
        assert intake.receive(example.packet) == example.answer, example.case
        assert Code(example.answer[1]).reason == example.case
    # Only the first example stored anything: its three values and the battery.
    readings = [event for event in published if hasattr(event, "values")]
    assert {r.sensor: dict(r.values) for r in readings} == {
        "bme280": {"temperature_celsius": 21.5, "humidity_percent": 45.2, "pressure_hectopascals": 1013.2},
        "battery": {"voltage_volts": 3.712},
    }
    assert all(r.source == "kitchen" for r in readings)
    results = {reason: n for (transport, reason), n in intake.results().items() if transport == "tcp"}
    assert results == {
        code.reason: (2 if code is Code.MALFORMED else 0 if code in DISK_CODES else 1) for code in Code
    }


def test_the_stored_example_decodes_field_by_field():
    packet = protocol.decode(stored_example().packet)
    assert (packet.device, packet.sequence, packet.battery_mv) == (1001, 1842, 3712)
    assert (packet.measure_interval, packet.wake_interval) == (60, 300)
    assert [m.type_byte for m in packet.measurements] == [0x01, 0x22, 0x13]
    assert packet.values == pytest.approx(stored_example().values)


@pytest.mark.parametrize("example", [e for e in doc_examples() if e.values], ids=lambda e: e.case)
def test_examples_with_values_decode_to_them_and_encode_back(example):
    packet = protocol.decode(example.packet)
    assert packet.values == pytest.approx(example.values)
    assert protocol.encode(packet, KEY) == example.packet


def test_the_tags_are_plain_hmac_sha256_truncated_to_16_bytes():
    # Checked with the standard library alone, not the product's helper.
    example = stored_example()
    assert example.packet[-16:] == hmac.new(KEY, example.packet[:-16], hashlib.sha256).digest()[:16]
    assert (
        example.answer[6:]
        == hmac.new(KEY, example.answer[:6] + example.packet[-16:], hashlib.sha256).digest()[:16]
    )
    answer = protocol.decode_answer(example.answer, KEY, example.packet[-16:])
    assert (answer.code, answer.sequence) == (Code.STORED, 1842)


def test_the_header_is_laid_out_as_the_table_says():
    packet = stored_example().packet
    length, version, count, device, sequence, battery, measure, wake = struct.unpack_from("<HBBIIHHH", packet)
    assert (length, version, count) == (len(packet), 1, 3)
    assert (device, sequence, battery, measure, wake) == (1001, 1842, 3712, 60, 300)
    assert struct.unpack_from("<f", packet, 19) == (21.5,)


def test_a_forged_stored_answer_is_noticed():
    example = stored_example()
    forged = example.answer[:6] + bytes(16)
    with pytest.raises(ValueError):
        protocol.decode_answer(forged, KEY, example.packet[-16:])


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", Code.TRUNCATED),
        (b"\x2d", Code.TRUNCATED),
        (struct.pack("<H", 33) + bytes(31), Code.MALFORMED),
        (struct.pack("<H", 257), Code.OVERSIZED),
    ],
)
def test_lengths_that_cannot_be_are_refused(data, code):
    with pytest.raises(protocol.Refused) as refused:
        protocol.decode(data)
    assert refused.value.code is code


def test_trailing_bytes_a_float_with_a_scale_and_too_many_measurements_are_malformed():
    good = stored_example().packet
    with pytest.raises(protocol.Refused) as refused:
        protocol.decode(good + b"\x00")
    assert refused.value.code is Code.MALFORMED
    scaled_float = bytearray(good)
    scaled_float[18] = 0x11
    with pytest.raises(protocol.Refused):
        protocol.decode(bytes(scaled_float))
    with pytest.raises(ValueError):
        protocol.encode(Packet(1, 1, 0, 0, 0, (Measurement(Encoding.UINT8, 1),) * 33), KEY)


def test_every_encoding_and_scale_round_trips():
    measurements = (
        Measurement(Encoding.FLOAT32, -12.5),
        Measurement(Encoding.INT16, -32768, 4),
        Measurement(Encoding.UINT16, 65535, 3),
        Measurement(Encoding.UINT8, 255),
    )
    packet = protocol.decode(protocol.encode(Packet(7, 2**32 - 1, 65535, 1, 65535, measurements), KEY))
    assert packet.values == (-12.5, -3.2768, 65.535, 255.0)
    assert packet.sequence == 2**32 - 1


def test_the_micropython_example_sends_the_documented_packet():
    spec = importlib.util.spec_from_file_location("micropython_node", DOC.with_name("micropython_node.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readings = [(0x01, 21.5), (0x22, 45.2), (0x13, 1013.2)]
    assert module.build_packet(1001, 1842, 3712, 60, 300, readings, KEY) == stored_example().packet
    assert module.hmac_sha256(KEY, b"abc") == hmac.new(KEY, b"abc", hashlib.sha256).digest()
    long_key = bytes(100)
    assert module.hmac_sha256(long_key, b"x") == hmac.new(long_key, b"x", hashlib.sha256).digest()


def test_the_command_line_sender_builds_the_documented_packet(capsys):
    arguments = ["--device", "1001", "--key", KEY.hex(), "--sequence", "1842", "--battery-mv", "3712"]
    arguments += ["--measure-interval", "60", "--value", "f32:21.5", "--value", "i16.2:45.2"]
    assert node_sender.main([*arguments, "--value", "u16.1:1013.2", "--dump"]) == 0
    assert bytes.fromhex(capsys.readouterr().out.split(":", 1)[1]) == stored_example().packet


def test_the_command_line_sender_gets_the_documented_answer(capsys, tmp_path):
    intake = NodeIntake(doc_devices(), lambda event: None, ManualClock(), journal=journal_in(tmp_path))
    with running_listener(intake) as listener:
        arguments = [
            "--port",
            str(listener.port),
            "--device",
            "1001",
            "--key",
            KEY.hex(),
            "--sequence",
            "1842",
        ]
        arguments += ["--battery-mv", "3712", "--measure-interval", "60", "--value", "f32:21.5"]
        assert node_sender.main([*arguments, "--value", "i16.2:45.2", "--value", "u16.1:1013.2"]) == 0
        assert "answer: stored (code 0), sequence 1842" in capsys.readouterr().out
        assert node_sender.main([*arguments, "--value", "i16.2:45.2", "--value", "u16.1:1013.2"]) == 1
        assert "answer: replayed" in capsys.readouterr().out


def _over_tcp(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(64):
            answer += chunk
            if len(answer) >= protocol.ACK_SIZE:
                break
        return answer


def test_the_listener_answers_the_examples_with_the_documented_bytes(tmp_path):
    # Over TCP, the truncated example waits out the deadline (short here).
    intake = NodeIntake(doc_devices(), lambda event: None, ManualClock(), journal=journal_in(tmp_path))
    with running_listener(intake, deadline=0.3) as listener:
        for example in doc_examples():
            assert _over_tcp(listener.port, example.packet) == example.answer, example.case
