"""The node's side of the packet protocol: connect, send one packet, wait for the answer.

Used by the virtual nodes, by ``enviro-sensor send-node`` and by the
tests; it is what a node's firmware does, in Python.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from enviro_sensor.nodes import protocol
from enviro_sensor.nodes.protocol import Answer, Packet


def exchange(host: str, port: int, packet: Packet, key: bytes, timeout: float = 5.0) -> Answer:
    """Send ``packet`` signed with ``key`` and return the checked answer (blocking)."""
    data = protocol.encode(packet, key)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        answer = _receive(sock, protocol.ACK_SIZE)
    return protocol.decode_answer(answer, _answer_key(answer, key), data[-protocol.TAG_SIZE :])


def _receive(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError(
                f"the service closed the connection after {len(data)} of {size} answer bytes"
            )
        data += chunk
    return data


def _answer_key(answer: bytes, key: bytes) -> bytes | None:
    """The key to check the answer with: refusals sent before the device was known carry
    a zero tag, but "stored" and "accepted" are always signed, so a forged one fails the check."""
    unsigned = answer[protocol.ACK.size :] == bytes(protocol.TAG_SIZE)
    return None if unsigned and answer[1] not in (protocol.Code.STORED, protocol.Code.ACCEPTED) else key


async def exchange_async(host: str, port: int, data: bytes, key: bytes, timeout: float = 10.0) -> Answer:
    """The same for an already encoded packet, on an asyncio loop (the virtual nodes)."""
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(data)
            await writer.drain()
            answer = await reader.readexactly(protocol.ACK_SIZE)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
    return protocol.decode_answer(answer, _answer_key(answer, key), data[-protocol.TAG_SIZE :])
