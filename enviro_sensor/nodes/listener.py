"""The TCP listener remote nodes send their packets to (ENVIRO_NODES_PORT).

One thread runs an asyncio loop: a thousand sleeping-then-waking nodes cost
a socket and a small buffer each, not a thread. Every packet is answered
(stored, or the reason it was refused) and a connection may carry several
packets. Everything a client can do wrong is bounded: a packet must arrive
whole within ``deadline`` seconds of the previous answer (or of connecting),
its length is checked before its body is read, and connections beyond
``max_connections`` are answered ``busy`` and closed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import resource
import threading

from enviro_sensor.nodes import protocol
from enviro_sensor.nodes.intake import NodeIntake
from enviro_sensor.nodes.protocol import Code

log = logging.getLogger(__name__)

DEADLINE_SECONDS = 5.0
MAX_CONNECTIONS = 2000
# Connections the kernel may hold before they are accepted: a thousand nodes
# that wake on the same second.
BACKLOG = 2048
# Packets stored at once, each waiting for the fsync its write shares.
STORE_THREADS = 64


# Files the rest of the process may hold beside the nodes' connections: HTTP
# clients, the history, the buses, the outputs' sockets.
OTHER_FILES = 1024


def raise_open_files_limit(wanted: int) -> int:
    """Raise this process's soft open-files limit towards ``wanted`` (up to the hard one).

    systemd and most shells start services at 1024, which a thousand nodes
    connecting at once would exhaust; the hard limit is usually far higher.
    Returns the soft limit now in force.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return target
        except (OSError, ValueError) as err:
            log.warning("cannot raise the open-files limit from %d to %d: %s", soft, target, err)
    return soft


class NodeListener:
    """Serves the packet protocol on ``host``:``port`` (0: any free port) from its own thread."""

    def __init__(
        self,
        intake: NodeIntake,
        host: str,
        port: int,
        *,
        deadline: float = DEADLINE_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.intake = intake
        self.host = host
        self.port = port
        self.deadline = deadline
        self.max_connections = max_connections
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self.open_connections = 0
        #: Connections closed for sending nothing within the deadline.
        self.idle_closed = 0
        self.connections = 0
        # Packets being stored at once (each waits for its group's fsync): the
        # most one write can group.
        self._workers = concurrent.futures.ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="node-store")

    def start(self) -> None:
        """Bind and serve; raises OSError when the port cannot be had."""
        raise_open_files_limit(self.max_connections + OTHER_FILES)
        self._thread = threading.Thread(target=self._run, name="node-listener", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(
                    self._serve, self.host, self.port, backlog=BACKLOG, limit=4 * protocol.MAX_PACKET
                )
            )
        except OSError as err:
            self._error = err
            self._ready.set()
            loop.close()
            return
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("listening for remote nodes on %s port %d", self.host, self.port)
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            # The open connections' handlers end (see _serve) before the
            # server counts as closed; wait for both, not one loop turn.
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            # One more turn: an aborted connection's socket is closed there.
            loop.run_until_complete(asyncio.sleep(0))
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

    def alive(self) -> bool:
        """True while the listener's thread serves."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop accepting, drop open connections and end the thread."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5.0)
        self._workers.shutdown(wait=False, cancel_futures=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._connection(reader, writer)
        except asyncio.CancelledError:
            # The listener is stopping. The connection is dropped, and the
            # handler ends as finished: asyncio's stream server logs a
            # cancelled handler as an error ("Exception in callback").
            writer.transport.abort()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.open_connections >= self.max_connections:
            self.intake.count(Code.BUSY)
            await self._answer(writer, protocol.encode_answer(Code.BUSY, 0, None))
            await self._close(writer)
            return
        self.open_connections += 1
        try:
            while await self._one_packet(reader, writer):
                pass
        except (ConnectionError, OSError):
            pass  # the node went away; nothing it sent is half-stored
        except Exception:
            # A fault of ours, not the client's: this connection ends, the listener serves on.
            log.exception("remote node connection failed")
        finally:
            self.open_connections -= 1
            await self._close(writer)

    async def _one_packet(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Read, handle and answer one packet; False when the connection should end."""
        received = bytearray()
        try:
            async with asyncio.timeout(self.deadline):
                if not await _read_up_to(reader, received, 2):
                    if received:  # closed in the middle of a packet
                        self.intake.count(Code.TRUNCATED)
                    return False
                length = protocol.declared_length(bytes(received))
                if not await _read_up_to(reader, received, length):
                    self.intake.count(Code.TRUNCATED)
                    return False
        except TimeoutError:
            if received:  # bytes came, but not a whole packet in time
                self.intake.count(Code.TRUNCATED)
                await self._answer(writer, protocol.encode_answer(Code.TRUNCATED, 0, None))
            else:
                self.idle_closed += 1
            return False
        except OSError:  # after TimeoutError, which is one too
            if received:  # reset in the middle of a packet
                self.intake.count(Code.TRUNCATED)
            return False
        except protocol.Refused as refused:
            # A length that cannot be right: what follows cannot be framed, so answer and close.
            self.intake.count(refused.code)
            await self._answer(writer, protocol.encode_answer(refused.code, 0, None))
            return False
        if self.intake.durable:
            # The answer waits for the disk: on a worker thread, so that the loop
            # reads the other nodes' packets meanwhile and their writes are grouped.
            loop = asyncio.get_running_loop()
            answer = await loop.run_in_executor(self._workers, self.intake.receive, bytes(received))
        else:
            answer = self.intake.receive(bytes(received))
        return await self._answer(writer, answer)

    async def _answer(self, writer: asyncio.StreamWriter, answer: bytes) -> bool:
        try:
            writer.write(answer)
            async with asyncio.timeout(self.deadline):
                await writer.drain()
        except (TimeoutError, ConnectionError, OSError):
            return False
        return True

    async def _close(self, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            writer.close()
            async with asyncio.timeout(self.deadline):
                await writer.wait_closed()


async def _read_up_to(reader: asyncio.StreamReader, buffer: bytearray, size: int) -> bool:
    """Read until ``buffer`` holds ``size`` bytes; False when the peer closes first."""
    while len(buffer) < size:
        chunk = await reader.read(size - len(buffer))
        if not chunk:
            return False
        buffer += chunk
    return True
