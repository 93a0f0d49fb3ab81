"""gunicorn's threaded worker, with whole requests read in the event loop first.

gunicorn's ``gthread`` worker gives a connection a thread as soon as it has a
byte to read, and the thread then reads the rest of the request with no
deadline. A handful of clients that send a byte every few seconds so hold
every thread, and the service (``/healthz`` too) stops answering. This
worker keeps gthread's threads, WSGI handling and signals, and changes who
reads: its event loop takes each connection's bytes without blocking until
``http_framing`` says a whole request has arrived, and only then does a
thread run the app, on bytes already in memory. A connection that has not
delivered a whole request within ``request_timeout`` seconds is answered 408
(silently closed when it sent nothing) and costs no thread while it waits. A
body over ``max_body_bytes`` is refused with 413 before it is read.

Errors the server itself answers (a malformed request, a request line or
header too large, an unknown Expect) are JSON in the service's error
envelope, like the app's own.

Stopping (SIGTERM) closes the connections that are still sending, gives
requests in flight half the graceful timeout, then cuts off any client that
is still not reading its answer, so ``worker_exit`` always runs in time to
release the hardware, before the master's SIGKILL.

Plain HTTP/1.x only: TLS and HTTP/2 belong to a reverse proxy in front.
"""

from __future__ import annotations

import contextlib
import errno
import json
import selectors
import socket
import time
from concurrent import futures
from typing import Any

from gunicorn import http
from gunicorn.http import errors as parse_errors
from gunicorn.workers.gthread import ThreadWorker

from enviro_sensor.web.http_framing import RequestFramer, State

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# How long a closing connection may still send (unread body) before it is
# cut: closing with unread bytes would reset the connection and could destroy
# the answer before the client reads it (RFC 9112 section 9.6).
LINGER_SECONDS = 2.0
# How often the loop looks for connections past their deadline.
TICK_SECONDS = 0.2
# How long the loop sleeps when no connection is open (stock gthread's
# figure): nothing can expire then, and an idle Pi should not wake five
# times a second for nothing. Shutdown and a dead master are still noticed
# within this.
IDLE_SECONDS = 1.0

# The server's own answers: (status, reason) by gunicorn parse error.
_CLIENT_ERRORS: tuple[tuple[type[Exception], int, str], ...] = (
    (parse_errors.LimitRequestLine, 414, "URI Too Long"),
    (parse_errors.LimitRequestHeaders, 431, "Request Header Fields Too Large"),
    (parse_errors.ExpectationFailed, 417, "Expectation Failed"),
    (parse_errors.UnsupportedTransferCoding, 501, "Not Implemented"),
    (parse_errors.ForbiddenProxyRequest, 403, "Forbidden"),
    (parse_errors.ConfigurationProblem, 500, "Internal Server Error"),
    (parse_errors.ParseException, 400, "Bad Request"),
)
REASONS = {400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large", 500: "Internal Server Error"}
REASONS.update({status: reason for _, status, reason in _CLIENT_ERRORS})


def error_answer(status: int, message: str) -> bytes:
    """A complete HTTP/1.1 answer that closes the connection, with the JSON error envelope."""
    body = json.dumps({"error": {"status": status, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
        "Connection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class Connection:
    """A client connection and the request arriving on it."""

    def __init__(self, sock: socket.socket, client: Any, server: Any, deadline: float) -> None:
        self.sock = sock
        self.client = client
        self.server = server
        self.received = bytearray()
        self.deadline = deadline  # the whole request by then, or the connection is closed
        self.idle = False  # kept alive between requests: the deadline starts at its first byte
        self.framer: RequestFramer | None = None
        self.continued = False
        self.close_after = False
        self.closed = False


class RequestBufferingWorker(ThreadWorker):
    """gthread, with each request read whole by the event loop before a thread takes it."""

    request_timeout = 10.0
    max_body_bytes = 16384
    # A head larger than this is refused (431) before gunicorn's parser sees it.
    max_head_bytes = 32768
    # An answer the client takes no bytes of for this long is abandoned.
    write_timeout = 30.0

    @classmethod
    def configured(cls, **limits: float) -> type[RequestBufferingWorker]:
        """A subclass with other limits, for ``worker_class`` in enviro_sensor/web/server.py."""
        unknown = set(limits) - {"request_timeout", "max_body_bytes", "max_head_bytes", "write_timeout"}
        if unknown:
            raise TypeError(f"unknown limits: {', '.join(sorted(unknown))}")
        return type(cls.__name__, (cls,), dict(limits))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiting: dict[Connection, None] = {}  # oldest first
        self.in_flight: set[Connection] = set()
        self.lingering: dict[Connection, float] = {}
        self._next_tick = 0.0

    def init_process(self) -> None:
        if self.cfg.is_ssl or "h2" in getattr(self.cfg, "http_protocols", ["h1"]):
            raise RuntimeError("this worker serves plain HTTP/1.x; put TLS and HTTP/2 in a reverse proxy")
        super().init_process()

    # -- the event loop ------------------------------------------------------------

    def run(self) -> None:
        self.poller.register(
            self.method_queue.fileno(), selectors.EVENT_READ, self.method_queue.run_callbacks
        )
        self.set_accept_enabled(True)
        while self.alive:
            self.notify()
            idle = not self.waiting and not self.lingering
            self.wait_for_and_dispatch_events(timeout=IDLE_SECONDS if idle else TICK_SECONDS)
            if not self.is_parent_alive():
                break
            self._expire(time.monotonic())
        self._stop()

    def _expire(self, now: float) -> None:
        if now < self._next_tick:
            return
        self._next_tick = now + TICK_SECONDS
        for conn in [conn for conn in self.waiting if conn.deadline <= now]:
            if conn.framer is not None or conn.received:
                self._refuse(conn, 408, f"the request did not arrive within {self.request_timeout:g} s")
            else:
                self._close(conn)  # nothing sent, nothing to answer (a browser's spare connection)
        for conn in [conn for conn, until in self.lingering.items() if until <= now]:
            self._close(conn)

    def accept(self, listener: socket.socket) -> None:
        try:
            sock, client = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as err:
            if err.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                # Out of descriptors: the slowest client makes room for the next.
                self._evict_oldest()
                return
            if err.errno == errno.ECONNABORTED:
                return
            raise
        sock.setblocking(False)
        self.nr_conns += 1
        conn = Connection(sock, client, listener.getsockname(), time.monotonic() + self.request_timeout)
        if self.nr_conns > self.worker_connections:
            self._evict_oldest()
        self._wait(conn)

    def _evict_oldest(self) -> None:
        oldest = next(iter(self.lingering), None) or next(iter(self.waiting), None)
        if oldest is not None:
            self._close(oldest)

    def _wait(self, conn: Connection) -> None:
        self.waiting[conn] = None
        self.poller.register(conn.sock, selectors.EVENT_READ, lambda _sock: self._readable(conn))

    def _readable(self, conn: Connection) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(conn)  # the client went away
            return
        if conn.idle:
            conn.idle = False
            conn.deadline = time.monotonic() + self.request_timeout
        conn.received += data
        self._examine(conn)

    def _examine(self, conn: Connection) -> None:
        """Hand the request to a thread once it is whole, or refuse it."""
        if conn.framer is None:
            # RFC 9112 section 2.2: empty lines before a request are ignored.
            while conn.received[:2] == b"\r\n":
                del conn.received[:2]
            if not conn.received:
                return
            conn.framer = RequestFramer(self.max_head_bytes, self.max_body_bytes)
        verdict = conn.framer.scan(conn.received)
        if verdict.state is State.INCOMPLETE:
            if conn.framer.expects_continue and not conn.continued:
                conn.continued = True
                self._send_now(conn, CONTINUE)
        elif verdict.state is State.TOO_LARGE:
            self._refuse(conn, verdict.status, verdict.message)
        else:
            whole = verdict.state is State.COMPLETE
            end = verdict.end if whole else len(conn.received)
            request = bytes(conn.received[:end])
            del conn.received[:end]
            conn.close_after = not whole
            self._dispatch(conn, request)

    def _dispatch(self, conn: Connection, request: bytes) -> None:
        del self.waiting[conn]
        self.poller.unregister(conn.sock)
        self.in_flight.add(conn)
        conn.sock.settimeout(self.write_timeout)
        future = self.tpool.submit(self._serve, conn, request)
        future.add_done_callback(lambda done: self.method_queue.defer(self._served, conn, done))

    def _served(self, conn: Connection, done: futures.Future) -> None:
        """Back on the loop after a request: wait for the next one, or close."""
        self.in_flight.discard(conn)
        keep_alive = not done.cancelled() and done.exception() is None and done.result()
        if not keep_alive or conn.close_after or not self.alive:
            self._linger(conn)
            return
        conn.sock.setblocking(False)
        conn.framer, conn.continued = None, False
        conn.idle = True
        conn.deadline = time.monotonic() + self.cfg.keepalive
        self._wait(conn)
        if conn.received:  # pipelined: the next request may be here already
            self._readable_buffered(conn)

    def _readable_buffered(self, conn: Connection) -> None:
        conn.idle = False
        conn.deadline = time.monotonic() + self.request_timeout
        self._examine(conn)

    # -- closing -------------------------------------------------------------------

    def _send_now(self, conn: Connection, data: bytes) -> None:
        with contextlib.suppress(OSError):
            conn.sock.send(data)  # a few hundred bytes: the socket's buffer takes them

    def _refuse(self, conn: Connection, status: int, message: str) -> None:
        # A timeout is what slow clients cause all the time: not worth a line each.
        log = self.log.debug if status == 408 else self.log.info
        log("Refused request from %s: %s %s", conn.client[0] if conn.client else "-", status, message)
        self._send_now(conn, error_answer(status, message))
        self._linger(conn)

    def _linger(self, conn: Connection) -> None:
        """Half-close, and read what the client still sends for a moment before closing."""
        self.waiting.pop(conn, None)
        self.in_flight.discard(conn)
        try:
            conn.sock.setblocking(False)
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn)
            return
        if conn not in self.lingering:
            self.lingering[conn] = time.monotonic() + LINGER_SECONDS
            self._register(conn, lambda _sock: self._drain(conn))

    def _register(self, conn: Connection, callback: Any) -> None:
        try:
            self.poller.register(conn.sock, selectors.EVENT_READ, callback)
        except KeyError:
            self.poller.modify(conn.sock, selectors.EVENT_READ, callback)

    def _drain(self, conn: Connection) -> None:
        try:
            if conn.sock.recv(65536):
                return
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self._close(conn)

    def _close(self, conn: Connection) -> None:
        if conn.closed:
            return
        conn.closed = True
        self.waiting.pop(conn, None)
        self.lingering.pop(conn, None)
        self.in_flight.discard(conn)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)
        with contextlib.suppress(OSError):
            conn.sock.close()
        self.nr_conns -= 1

    def _stop(self) -> None:
        """SIGTERM: finish what is in flight within a bounded time, then let go of everyone."""
        self.set_accept_enabled(False)
        for conn in list(self.waiting):
            self._close(conn)
        deadline = time.monotonic() + self.cfg.graceful_timeout / 2
        while self.in_flight and time.monotonic() < deadline:
            self.notify()
            self.wait_for_and_dispatch_events(timeout=TICK_SECONDS)
        for conn in list(self.in_flight):
            # A client that does not read its answer keeps a thread in send();
            # shutting the socket down ends that at once.
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
        for conn in [*self.lingering, *self.in_flight]:
            self._close(conn)
        self.tpool.shutdown(wait=False)
        self.poller.close()
        self.method_queue.close()
        for listener in self.sockets:
            listener.close()

    # -- in a thread ---------------------------------------------------------------

    def _serve(self, conn: Connection, request: bytes) -> bool:
        """Run the app for one request already in memory; True to keep the connection."""
        req = None
        try:
            req = next(http.get_parser(self.cfg, [request], conn.client))
            # The whole body is here: the loop already asked for it if asked to.
            req._expected_100_continue = False
            return bool(self.handle_request(req, conn))
        except (StopIteration, parse_errors.NoMoreData):
            return False
        except OSError as err:
            self.log.debug("Connection error while answering: %s", err)
            return False
        except Exception as err:
            self.handle_error(req, conn.sock, conn.client, err)
            return False

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """The server's own error answers, as JSON in the service's envelope (not gunicorn's HTML)."""
        status = next((status for kind, status, _ in _CLIENT_ERRORS if isinstance(exc, kind)), 500)
        if status == 500:
            self.log.exception("Error handling request %s", getattr(req, "uri", "(no URI read)"))
            message = "the server could not answer this request"
        else:
            self.log.warning("Invalid request from ip=%s: %s", (addr or ("-",))[0], exc)
            message = f"invalid request: {str(exc)[:200]}"
        try:
            client.sendall(error_answer(status, message))
        except OSError:
            self.log.debug("Failed to send error message.")
