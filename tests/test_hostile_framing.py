"""``http_framing``: where a request ends, fed literal bytes as they would arrive."""

from __future__ import annotations

import pytest

from enviro_sensor.web.http_framing import RequestFramer, State

GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def _scan_byte_by_byte(data: bytes, framer: RequestFramer | None = None):
    framer = framer or RequestFramer(max_head_bytes=4096, max_body_bytes=100)
    for end in range(1, len(data) + 1):
        verdict = framer.scan(data[:end])
        if verdict.state is not State.INCOMPLETE:
            return end, verdict
    return len(data), verdict


@pytest.mark.parametrize(
    "request_bytes",
    [
        GET,
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        b"POST / HTTP/1.1\r\ncontent-length:  0 \r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\na\r\n0\r\nX-T: 1\r\n\r\n",
    ],
)
def test_a_request_is_complete_at_its_last_byte_and_not_before(request_bytes):
    pipelined = request_bytes + GET
    end, verdict = _scan_byte_by_byte(pipelined)
    assert verdict.state is State.COMPLETE
    assert end == verdict.end == len(request_bytes)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\nExpect: tea\r\n\r\n",
        b"GET / HTTP/1.1\r\nno colon\r\n\r\n",
        b"GET / HTTP/1.1\r\nName : value\r\n\r\n",
    ],
)
def test_ambiguous_framing_is_passed_on_for_the_parser_to_name(request_bytes):
    _, verdict = _scan_byte_by_byte(request_bytes)
    assert verdict.state is State.MALFORMED


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 413),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + b"a" * 64 + b"\r\n40\r\n", 413),
        (b"GET /" + b"a" * 5000, 414),
        (b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 1000, 431),
    ],
)
def test_too_much_is_refused_as_soon_as_it_shows(request_bytes, status):
    end, verdict = _scan_byte_by_byte(request_bytes)
    assert (verdict.state, verdict.status) == (State.TOO_LARGE, status)
    assert end <= 4096 + 1 or status == 413


def test_expect_100_continue_is_noticed_once_the_head_is_in():
    framer = RequestFramer(4096, 100)
    head = b"POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n"
    assert framer.scan(head).state is State.INCOMPLETE
    assert framer.expects_continue
    assert framer.scan(head + b"hi").end == len(head) + 2
