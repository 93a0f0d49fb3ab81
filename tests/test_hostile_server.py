"""Hostile and careless clients against the real gunicorn, over loopback.

Slow and silent connections, junk and oversized requests, a malformed
chunked body: the service keeps answering everyone else at once, and every
answer is JSON. Each load is bounded in count and time and ends by itself.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator

import pytest
import requests

from tests.servers import gunicorn_server

pytestmark = pytest.mark.e2e

# Short, so that "closed after the deadline" takes seconds; the default is 10.
REQUEST_TIMEOUT = 2.0
# What the issue asks of a fresh client while the slow ones hold on.
FRESH_ANSWER_SECONDS = 1.0
ROUTES = ["/healthz", "/api/sensors", "/api/sensors/weather", "/metrics"]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    env = {"ENVIRO_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT), "ENVIRO_WEATHER_INTERVAL": "0.5"}
    with gunicorn_server(env) as (base, _):
        yield base, int(base.rsplit(":", 1)[1])


def _connect(port: int, count: int) -> list[socket.socket]:
    return [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]


def _answer(sock: socket.socket, timeout: float = 5) -> bytes:
    """Everything the server sends until it closes (or ``timeout``)."""
    sock.settimeout(timeout)
    received = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            received += chunk
    return received


def _exchange(port: int, request: bytes) -> tuple[int, dict, bytes]:
    """Send raw bytes; the status, headers and body of the (first) answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        raw = _answer(sock)
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *fields = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (f.partition(":") for f in fields)}
    return int(status_line.split()[1]), headers, body


def _fresh_clients_answered_quickly(base: str) -> float:
    slowest = 0.0
    for route in ROUTES:
        started = time.monotonic()
        reply = requests.get(base + route, timeout=5)
        slowest = max(slowest, time.monotonic() - started)
        assert reply.status_code in (200, 503), (route, reply.status_code)
    return slowest


SLOW_STARTS = {
    "headers": b"G",
    "body": b"POST /api/lcd HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nab",
    "silent": b"",
}


@pytest.mark.parametrize(
    ("count", "kind"),
    [
        (4, "headers"),
        (64, "headers"),
        (256, "headers"),
        (4, "body"),
        (64, "body"),
        (64, "silent"),
        (256, "silent"),
    ],
)
def test_slow_connections_do_not_stop_the_service(server, count, kind):
    base, port = server
    slow = _connect(port, count)
    try:
        for sock in slow:
            sock.send(SLOW_STARTS[kind])
        # They keep trickling (a byte each half second) while fresh clients ask.
        for _ in range(3):
            for sock in slow:
                with contextlib.suppress(OSError):
                    sock.send(b"E" if kind == "headers" else b"x" if kind == "body" else b"")
            assert _fresh_clients_answered_quickly(base) < FRESH_ANSWER_SECONDS
            time.sleep(0.5)
        # None of them delivered a whole request in time: all are closed,
        # with a 408 for those that sent something.
        for sock in slow:
            answer = _answer(sock, timeout=REQUEST_TIMEOUT + 3)
            if kind == "silent":
                assert answer == b""
            else:
                assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
                assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["status"] == 408
    finally:
        for sock in slow:
            sock.close()


def test_an_incomplete_request_is_closed_at_the_deadline(server):
    _, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        answer = _answer(sock, timeout=REQUEST_TIMEOUT + 5)
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert REQUEST_TIMEOUT - 0.1 <= waited < REQUEST_TIMEOUT + 2


def test_a_request_sent_slowly_but_in_time_is_answered(server):
    _, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for piece in (b"GET /healthz HTTP/1.1\r\n", b"Host: x\r\n", b"Connection: close\r\n", b"\r\n"):
            sock.sendall(piece)
            time.sleep(0.2)
        assert _answer(sock).startswith(b"HTTP/1.1 200 OK\r\n")


def test_pipelined_and_kept_alive_requests_are_all_answered(server):
    _, port = server
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request * 3)
        time.sleep(0.3)
        sock.sendall(request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        answer = _answer(sock)
    assert answer.count(b"HTTP/1.1 200 OK\r\n") == 4


def test_expect_100_continue_gets_its_go_ahead_before_the_body(server):
    _, port = server
    body = b"hello"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/lcd HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nExpect: 100-continue\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        answer = _answer(sock)
    assert b"100 Continue" not in answer  # once only
    status = int(answer.split()[1])
    assert status in (200, 503), answer[:200]


MALFORMED_CHUNKS = {
    "bad size": b"zz\r\nabc\r\n0\r\n\r\n",
    "missing terminator": b"3\r\nabcX\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("body", MALFORMED_CHUNKS.values(), ids=MALFORMED_CHUNKS.keys())
def test_a_malformed_chunked_body_is_a_400_in_json(server, body):
    _, port = server
    status, headers, answer = _exchange(
        port,
        b"POST /api/lcd HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + body,
    )
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(answer)["error"]["status"] == 400


def test_a_well_formed_chunked_body_is_read(server):
    _, port = server
    status, _, answer = _exchange(
        port,
        b"POST /api/lcd HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    )
    assert status in (200, 503), answer


JUNK = {
    400: b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    414: b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    417: b"POST /api/lcd HTTP/1.1\r\nHost: x\r\nExpect: tea\r\nContent-Length: 2\r\n\r\nhi",
    431: b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n",
    413: b"POST /api/lcd HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 999999\r\n\r\n",
}


@pytest.mark.parametrize("expected", JUNK)
def test_the_servers_own_errors_are_json(server, expected):
    _, port = server
    status, headers, body = _exchange(port, JUNK[expected])
    assert status == expected
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["status"] == expected
    assert b"<html" not in body


def test_a_huge_head_is_refused_before_it_is_all_read(server):
    _, port = server
    status, _, body = _exchange(port, b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 8000)
    assert status == 431
    assert json.loads(body)["error"]["status"] == 431


def _not_reading(port: int) -> socket.socket:
    """A client that asks for large answers and reads none of them: the server's send() blocks."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET /apispec.json HTTP/1.1\r\nHost: x\r\n\r\n" * 200)
    return sock


def test_sigterm_releases_the_hardware_whatever_the_clients_do(tmp_path):
    # The virtual PMS5003's pseudo-terminal lives in a temporary folder that
    # the board removes when it is released.
    env = {"TMPDIR": str(tmp_path), "ENVIRO_REQUEST_TIMEOUT": "60"}
    with gunicorn_server(env) as (base, process):
        port = int(base.rsplit(":", 1)[1])
        deadline = time.monotonic() + 20
        # The collector opens the sensors (importing their drivers) while the worker serves.
        while not list(tmp_path.glob("enviro-serial-*")):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        while requests.get(base + "/api/lcd", timeout=5).status_code != 200:  # the panel is open
            assert time.monotonic() < deadline
            time.sleep(0.2)
        stuck = _connect(port, 3)
        stuck[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finishes its head
        stuck[1].sendall(SLOW_STARTS["body"])  # never finishes its body
        stuck.append(_not_reading(port))
        time.sleep(1)
        started = time.monotonic()
        process.terminate()
        output, _ = process.communicate(timeout=30)
        stopped_in = time.monotonic() - started
        for sock in stuck:
            sock.close()
    assert process.returncode == 0, output[-2000:]
    assert "LCD backlight off" in output
    assert "service stopped" in output
    assert not list(tmp_path.glob("enviro-serial-*"))
    # Well inside the master's graceful timeout (10 s), after which it kills.
    assert stopped_in < 9, output[-2000:]


def test_doubled_slashes_redirect_in_json_whatever_the_host_says(server):
    _, port = server
    status, headers, body = _exchange(
        port, b"GET //api//sensors?x=1 HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
    )
    assert status == 308
    assert headers["location"] == "/api/sensors?x=1"
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["status"] == 308


def test_options_answers_json(server):
    base, _ = server
    reply = requests.options(base + "/api/lcd", timeout=5)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json()["result"]["allow"] == ["GET", "HEAD", "OPTIONS", "POST"]
