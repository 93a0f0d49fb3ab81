"""What Sensirion's I2C sensors share on the wire: 16-bit commands, words with a CRC-8.

Sensirion datasheets (SCD4x section 3.11 "Checksum calculation", SGP40
section 4.6, SHT4x ...): a command is a 16-bit word sent most significant
byte first; data, both ways, comes in 16-bit words each followed by a CRC-8
over its two bytes: polynomial 0x31 (x^8 + x^5 + x^4 + 1), initialisation
0xFF, no reflection, no final XOR. The datasheets' example: CRC(0xBEEF) = 0x92.
"""

from __future__ import annotations

from collections.abc import Iterable

CRC_POLYNOMIAL = 0x31
CRC_INIT = 0xFF


def crc8(data: bytes) -> int:
    """Sensirion's CRC-8 of ``data`` (two bytes, one word, on the wire)."""
    crc = CRC_INIT
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ CRC_POLYNOMIAL) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def frame_words(words: Iterable[int]) -> bytes:
    """Words as the sensor sends them: big-endian, each followed by its CRC."""
    out = bytearray()
    for word in words:
        pair = (word & 0xFFFF).to_bytes(2, "big")
        out += pair + bytes([crc8(pair)])
    return bytes(out)


def unframe_words(data: bytes) -> list[int] | None:
    """The words of a host's write after its command, or None if a CRC is wrong.

    A Sensirion sensor ignores a command whose argument fails its CRC.
    """
    words = []
    for start in range(0, len(data) - len(data) % 3, 3):
        pair, crc = data[start : start + 2], data[start + 2]
        if crc8(pair) != crc:
            return None
        words.append(int.from_bytes(pair, "big"))
    return words
