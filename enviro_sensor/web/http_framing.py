"""Where an HTTP/1.1 request ends in the bytes received so far (RFC 9112 section 6).

The worker (``http_worker``) reads requests in its event loop and gives one
to a thread only once all of it has arrived; this module tells it when that
is, from the head's Content-Length or the chunked framing, without waiting on
the socket. It frames, it does not judge: a request it cannot frame with
certainty is passed on whole ("malformed") and gunicorn's parser says what is
wrong with it. Limits are checked as the bytes come, so a client cannot make
the worker hold more than the head and body limits.
"""

from __future__ import annotations

import dataclasses
import enum
import re

CRLF = b"\r\n"
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
# A chunk-size line (size and extensions) longer than this is abuse.
MAX_CHUNK_LINE = 1024


class State(enum.Enum):
    INCOMPLETE = "incomplete"  # wait for more bytes
    COMPLETE = "complete"  # the request is ``data[:end]``
    MALFORMED = "malformed"  # framing unknown: pass everything on, then close
    TOO_LARGE = "too large"  # answer ``status`` and close


@dataclasses.dataclass(frozen=True)
class Verdict:
    state: State
    end: int = 0
    status: int = 0  # for TOO_LARGE: 413, 414 or 431
    message: str = ""


INCOMPLETE = Verdict(State.INCOMPLETE)


class RequestFramer:
    """Scans one request as its bytes arrive; ``scan`` is called with the growing buffer."""

    def __init__(self, max_head_bytes: int, max_body_bytes: int) -> None:
        self.max_head = max_head_bytes
        self.max_body = max_body_bytes
        self.head_end = 0  # index after the blank line ending the head, once found
        self.expects_continue = False
        self._searched = 0
        self._length: int | None = None  # Content-Length, or None when chunked
        self._chunk_at = 0  # chunked: where the next chunk-size line starts
        self._decoded = 0

    def scan(self, data: bytes | bytearray) -> Verdict:
        if not self.head_end:
            verdict = self._scan_head(data)
            if verdict is not None:
                return verdict
        if self._length is not None:
            end = self.head_end + self._length
            return Verdict(State.COMPLETE, end) if len(data) >= end else INCOMPLETE
        return self._scan_chunks(data)

    def _scan_head(self, data: bytes | bytearray) -> Verdict | None:
        found = data.find(b"\r\n\r\n", max(0, self._searched - 3))
        if found < 0:
            self._searched = len(data)
            if len(data) > self.max_head:
                if CRLF not in data:
                    return Verdict(State.TOO_LARGE, status=414, message="the request line is too long")
                return Verdict(
                    State.TOO_LARGE, status=431, message="the request's header fields are too large"
                )
            return INCOMPLETE
        if found + 4 > self.max_head:
            return Verdict(State.TOO_LARGE, status=431, message="the request's header fields are too large")
        self.head_end = found + 4
        return self._read_head(bytes(data[:found]))

    def _read_head(self, head: bytes) -> Verdict | None:
        request_line, *fields = head.split(CRLF)
        http10 = request_line.endswith(b"HTTP/1.0")
        lengths, codings, expect = [], [], None
        for field in fields:
            name, colon, value = field.partition(b":")
            if not colon or name != name.strip(b" \t") or not name:
                return Verdict(State.MALFORMED)
            name, value = name.lower(), value.strip(b" \t")
            if name == b"content-length":
                lengths.append(value)
            elif name == b"transfer-encoding":
                codings += [coding.strip(b" \t").lower() for coding in value.split(b",")]
            elif name == b"expect":
                expect = value.lower()
        if expect is not None and not http10:
            if expect != b"100-continue":
                return Verdict(State.MALFORMED)  # gunicorn answers 417
            self.expects_continue = True
        if codings:
            # Chunked last, no Content-Length beside it, not HTTP/1.0: else
            # the framing is ambiguous (request smuggling), and gunicorn says so.
            if codings[-1] != b"chunked" or lengths or http10:
                return Verdict(State.MALFORMED)
            self._chunk_at = self.head_end
            return None
        if len(lengths) > 1 or (lengths and not lengths[0].isdigit()):
            return Verdict(State.MALFORMED)
        self._length = int(lengths[0]) if lengths else 0
        if self._length > self.max_body:
            return self._too_large()
        return None

    def _scan_chunks(self, data: bytes | bytearray) -> Verdict:
        while True:
            line_end = data.find(CRLF, self._chunk_at)
            if line_end < 0:
                if len(data) - self._chunk_at > MAX_CHUNK_LINE:
                    return Verdict(State.MALFORMED)
                return INCOMPLETE
            size_text = bytes(data[self._chunk_at : line_end]).split(b";", 1)[0].rstrip(b" \t")
            if line_end - self._chunk_at > MAX_CHUNK_LINE or not _CHUNK_SIZE.fullmatch(size_text):
                return Verdict(State.MALFORMED)
            size = int(size_text, 16)
            if size == 0:
                return self._scan_trailer(data, line_end + 2)
            if self._decoded + size > self.max_body:
                return self._too_large()
            data_end = line_end + 2 + size
            if len(data) < data_end + 2:
                return INCOMPLETE
            if data[data_end : data_end + 2] != CRLF:
                return Verdict(State.MALFORMED)
            self._decoded += size
            self._chunk_at = data_end + 2

    def _scan_trailer(self, data: bytes | bytearray, start: int) -> Verdict:
        if len(data) < start + 2:
            return INCOMPLETE
        if data[start : start + 2] == CRLF:
            return Verdict(State.COMPLETE, start + 2)
        end = data.find(b"\r\n\r\n", start)
        if end >= 0:
            return Verdict(State.COMPLETE, end + 4)
        if len(data) - start > self.max_head:
            return Verdict(State.TOO_LARGE, status=431, message="the request's trailer fields are too large")
        return INCOMPLETE

    def _too_large(self) -> Verdict:
        return Verdict(
            State.TOO_LARGE,
            status=413,
            message=f"the body is larger than {self.max_body} bytes (ENVIRO_MAX_BODY_BYTES)",
        )
