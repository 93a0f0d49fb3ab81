"""The remote nodes' binary packet and its answer: pure encoding and decoding, no I/O.

Byte layout (little-endian, as the ESP8266 boards' own packets): see
docs/nodes.md, whose worked examples the tests decode. A packet is

    length u16 | version u8 | count u8 | device u32 | sequence u32 |
    battery_mv u16 | measure_interval_s u16 | wake_interval_s u16 |
    count x (type u8, value) | tag 16 bytes

and the tag is HMAC-SHA256 with the device's key over every byte before it,
truncated to 16 bytes (RFC 4868's truncation). The answer is

    version u8 | code u8 | sequence u32 | tag 16 bytes

with the tag made with the same key over those six bytes and the packet's
tag, so a node can tell a real acknowledgement of *its* packet from a forged
one; answers to packets whose device is unknown carry a zero tag.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import hmac
import struct

VERSION = 1
HEADER = struct.Struct("<HBBIIHHH")
HEADER_SIZE = HEADER.size  # 18
TAG_SIZE = 16
MIN_PACKET = HEADER_SIZE + TAG_SIZE  # a packet with no measurements (battery only)
MAX_PACKET = 256
MAX_MEASUREMENTS = 32
ACK = struct.Struct("<BBI")
ACK_SIZE = ACK.size + TAG_SIZE  # 22


class Encoding(enum.IntEnum):
    """The low four bits of a measurement's type byte: how its value is stored."""

    FLOAT32 = 1
    INT16 = 2
    UINT16 = 3
    UINT8 = 4


_VALUE_FORMATS = {Encoding.FLOAT32: "<f", Encoding.INT16: "<h", Encoding.UINT16: "<H", Encoding.UINT8: "<B"}
# The high four bits: a decimal exponent; the value is raw / 10**scale (integers only).
MAX_SCALE = 4


class Code(enum.IntEnum):
    """The answer's code: 0 stored, 10 accepted (not kept on disk), anything else why not."""

    STORED = 0
    UNKNOWN_DEVICE = 1
    BAD_TAG = 2
    REPLAYED = 3
    TRUNCATED = 4
    OVERSIZED = 5
    MALFORMED = 6
    BAD_VERSION = 7
    INVALID_VALUES = 8
    BUSY = 9
    #: Authentic and valid, published to the outputs, but not on disk: the
    #: service keeps no history (no ENVIRO_DATA_DIR).
    ACCEPTED = 10
    #: Authentic and valid, but the write to disk failed (a full disk):
    #: nothing was published; the node should send the readings again.
    NOT_STORED = 11

    @property
    def reason(self) -> str:
        """The metric label: ``stored``, ``unknown_device``..."""
        return self.name.lower()


class Refused(ValueError):
    """A packet that cannot be stored, and the code to answer it with."""

    def __init__(self, code: Code, message: str, sequence: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.sequence = sequence


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One typed value: its encoding, decimal scale and raw integer (or float)."""

    encoding: Encoding
    raw: float
    scale: int = 0

    @property
    def value(self) -> float:
        return float(self.raw) / 10**self.scale

    @property
    def type_byte(self) -> int:
        return self.scale << 4 | self.encoding


@dataclasses.dataclass(frozen=True)
class Packet:
    """A decoded packet (its tag not yet checked: that needs the device's key)."""

    device: int
    sequence: int
    battery_mv: int
    measure_interval: int
    wake_interval: int
    measurements: tuple[Measurement, ...]
    #: The bytes the tag covers, and the tag itself.
    signed: bytes = b""
    tag: bytes = b""
    version: int = VERSION

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(m.value for m in self.measurements)


def make_tag(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256 of ``data`` with ``key``, truncated to 16 bytes."""
    return hmac.new(key, data, hashlib.sha256).digest()[:TAG_SIZE]


def tag_matches(packet: Packet, key: bytes) -> bool:
    """Whether the packet's tag was made with ``key`` (compared in constant time)."""
    return hmac.compare_digest(make_tag(key, packet.signed), packet.tag)


def encode_measurement(measurement: Measurement) -> bytes:
    encoding = Encoding(measurement.encoding)
    raw = measurement.raw if encoding is Encoding.FLOAT32 else int(measurement.raw)
    return bytes([measurement.type_byte]) + struct.pack(_VALUE_FORMATS[encoding], raw)


def encode(packet: Packet, key: bytes) -> bytes:
    """The packet's bytes, tag included, signed with ``key``."""
    body = b"".join(encode_measurement(m) for m in packet.measurements)
    length = HEADER_SIZE + len(body) + TAG_SIZE
    if len(packet.measurements) > MAX_MEASUREMENTS or length > MAX_PACKET:
        raise ValueError(f"too many measurements for one packet ({len(packet.measurements)})")
    header = HEADER.pack(
        length,
        packet.version,
        len(packet.measurements),
        packet.device,
        packet.sequence,
        packet.battery_mv,
        packet.measure_interval,
        packet.wake_interval,
    )
    signed = header + body
    return signed + make_tag(key, signed)


def declared_length(prefix: bytes) -> int:
    """The length a packet says it has, from its first two bytes; Refused when it cannot be one."""
    (length,) = struct.unpack_from("<H", prefix)
    if length > MAX_PACKET:
        raise Refused(Code.OVERSIZED, f"a packet of {length} bytes is longer than {MAX_PACKET}")
    if length < MIN_PACKET:
        raise Refused(Code.MALFORMED, f"a packet of {length} bytes is shorter than {MIN_PACKET}")
    return length


def decode(data: bytes) -> Packet:
    """Parse one whole packet; raises Refused with the code to answer."""
    if len(data) < 2:
        raise Refused(Code.TRUNCATED, "no length")
    length = declared_length(data)
    if len(data) < length:
        raise Refused(Code.TRUNCATED, f"{len(data)} of {length} bytes")
    if len(data) > length:
        raise Refused(Code.MALFORMED, f"{len(data) - length} bytes after the packet")
    _, version, count, device, sequence, battery, measure, wake = HEADER.unpack_from(data)
    if version != VERSION:
        raise Refused(Code.BAD_VERSION, f"version {version}, expected {VERSION}", sequence)
    if count > MAX_MEASUREMENTS:
        raise Refused(Code.MALFORMED, f"{count} measurements, at most {MAX_MEASUREMENTS}", sequence)
    end = length - TAG_SIZE
    offset = HEADER_SIZE
    measurements = []
    for index in range(count):
        if offset >= end:
            raise Refused(Code.MALFORMED, f"measurement {index} lies past the end", sequence)
        type_byte = data[offset]
        try:
            encoding = Encoding(type_byte & 0x0F)
        except ValueError:
            raise Refused(
                Code.MALFORMED, f"measurement {index}: unknown type 0x{type_byte:02x}", sequence
            ) from None
        scale = type_byte >> 4
        if scale > MAX_SCALE or (scale and encoding is Encoding.FLOAT32):
            raise Refused(
                Code.MALFORMED, f"measurement {index}: bad scale in type 0x{type_byte:02x}", sequence
            )
        fmt = _VALUE_FORMATS[encoding]
        size = struct.calcsize(fmt)
        if offset + 1 + size > end:
            raise Refused(Code.MALFORMED, f"measurement {index} lies past the end", sequence)
        (raw,) = struct.unpack_from(fmt, data, offset + 1)
        measurements.append(Measurement(encoding, raw, scale))
        offset += 1 + size
    if offset != end:
        raise Refused(Code.MALFORMED, f"{end - offset} bytes between the measurements and the tag", sequence)
    return Packet(
        device=device,
        sequence=sequence,
        battery_mv=battery,
        measure_interval=measure,
        wake_interval=wake,
        measurements=tuple(measurements),
        signed=data[:end],
        tag=data[end:length],
        version=version,
    )


@dataclasses.dataclass(frozen=True)
class Answer:
    """The service's answer to one packet."""

    code: Code
    sequence: int
    tag: bytes = bytes(TAG_SIZE)


def encode_answer(code: Code, sequence: int, key: bytes | None, packet_tag: bytes = b"") -> bytes:
    """The answer's bytes: signed over itself and the packet's tag when the key is known."""
    head = ACK.pack(VERSION, code, sequence)
    tag = make_tag(key, head + packet_tag) if key is not None else bytes(TAG_SIZE)
    return head + tag


def decode_answer(data: bytes, key: bytes | None = None, packet_tag: bytes = b"") -> Answer:
    """Parse an answer; with ``key`` its tag is checked too (ValueError when it is wrong)."""
    if len(data) != ACK_SIZE:
        raise ValueError(f"an answer has {ACK_SIZE} bytes, got {len(data)}")
    version, code, sequence = ACK.unpack_from(data)
    if version != VERSION:
        raise ValueError(f"answer version {version}")
    tag = data[ACK.size :]
    if key is not None and not hmac.compare_digest(make_tag(key, data[: ACK.size] + packet_tag), tag):
        raise ValueError("the answer's tag does not match the key")
    return Answer(Code(code), sequence, tag)
