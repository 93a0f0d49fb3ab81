"""Remote nodes in tests: the worked examples of docs/nodes.md, its devices file, a listener."""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

from enviro_sensor.nodes import protocol
from enviro_sensor.nodes.devices import Device, parse_devices
from enviro_sensor.nodes.intake import NodeIntake
from enviro_sensor.nodes.journal import NodeJournal
from enviro_sensor.nodes.listener import NodeListener
from enviro_sensor.nodes.protocol import Encoding, Measurement, Packet

DOC = Path(__file__).resolve().parent.parent / "docs" / "nodes.md"
#: The key of docs/nodes.md's example device 1001 ("kitchen").
KITCHEN_KEY = bytes(range(32))
BLOCK = re.compile(r"^```(\S*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclasses.dataclass(frozen=True)
class Example:
    """One ``nodes-example`` block: a packet, what it holds and the service's answer."""

    case: str
    packet: bytes
    answer: bytes
    values: tuple[float, ...] | None


def doc_blocks(kind: str) -> list[str]:
    return [body for info, body in BLOCK.findall(DOC.read_text(encoding="utf-8")) if info == kind]


def doc_devices() -> tuple[Device, ...]:
    """The devices file docs/nodes.md shows (its first TOML block)."""
    return parse_devices(doc_blocks("toml")[0])


def doc_examples() -> list[Example]:
    examples = []
    for body in doc_blocks("nodes-example"):
        fields = dict(line.split(": ", 1) for line in body.strip().splitlines())
        values = tuple(float(v) for v in fields["values"].split()) if "values" in fields else None
        examples.append(
            Example(fields["case"], bytes.fromhex(fields["packet"]), bytes.fromhex(fields["answer"]), values)
        )
    return examples


@contextlib.contextmanager
def running_listener(intake: NodeIntake, deadline: float = 5.0, **options) -> Iterator[NodeListener]:
    """A listener for ``intake`` on a free loopback port, stopped afterwards."""
    listener = NodeListener(intake, "127.0.0.1", 0, deadline=deadline, **options)
    listener.start()
    try:
        yield listener
    finally:
        listener.stop()


def journal_in(folder: Path) -> NodeJournal:
    """A node journal in a test's folder: the intake then answers ``stored`` once on disk."""
    return NodeJournal(folder / "node-journal.log")


def kitchen_packet(
    sequence: int = 1, temperature: float = 21.5, wake: int = 300, battery_mv: int = 3712
) -> bytes:
    """A packet of docs/nodes.md's device 1001: temperature, humidity 45.20 % and pressure 1013.2 hPa."""
    measurements = (
        Measurement(Encoding.FLOAT32, temperature),
        Measurement(Encoding.INT16, 4520, 2),
        Measurement(Encoding.UINT16, 10132, 1),
    )
    return protocol.encode(Packet(1001, sequence, battery_mv, 60, wake, measurements), KITCHEN_KEY)
