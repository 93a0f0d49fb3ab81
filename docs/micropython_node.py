"""An example remote node for MicroPython (ESP8266 / ESP32): measure, send one packet, sleep.

The packet is the one docs/nodes.md specifies: little-endian header, typed
measurements, and an HMAC-SHA256 tag (first 16 bytes) made with the node's
key. The sequence number survives deep sleep in RTC memory. Copy this file
to the board as main.py and set the constants below; it also runs under
CPython, which the tests use to check it against the specification.
"""

import socket
import struct

try:
    import hashlib
except ImportError:  # older MicroPython ports
    import uhashlib as hashlib

SERVICE = ("192.168.1.10", 8089)  # the Pi and its ENVIRO_NODES_PORT
DEVICE_ID = 1001
KEY = bytes(range(32))  # this node's key, as in the devices file (bytes.fromhex("..."))
WAKE_SECONDS = 300
TAG_SIZE = 16
# The answer's codes that mean the readings arrived (docs/nodes.md): on the
# service's disk, or published by a service that keeps no history.
STORED = 0
ACCEPTED = 10
NOT_STORED = 11  # the service's disk failed: keep the readings, send them again


def hmac_sha256(key, message):
    """HMAC (RFC 2104) from hashlib.sha256: MicroPython has no hmac module."""
    block = 64
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key + bytes(block - len(key))
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    inner.update(message)
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    outer.update(inner.digest())
    return outer.digest()


def build_packet(device, sequence, battery_mv, measure_s, wake_s, measurements, key):
    """``measurements``: (type byte, value) pairs, e.g. (0x01, 21.5), (0x22, 45.2), (0x13, 1013.2)."""
    body = b""
    for type_byte, value in measurements:
        encoding, scale = type_byte & 0x0F, type_byte >> 4
        if encoding == 1:
            body += struct.pack("<Bf", type_byte, value)
        else:
            raw = round(value * 10**scale)
            body += struct.pack({2: "<Bh", 3: "<BH", 4: "<BB"}[encoding], type_byte, raw)
    length = 18 + len(body) + TAG_SIZE
    header = struct.pack(
        "<HBBIIHHH", length, 1, len(measurements), device, sequence, battery_mv, measure_s, wake_s
    )
    signed = header + body
    return signed + hmac_sha256(key, signed)[:TAG_SIZE]


def send(packet, key, address=SERVICE, timeout=5):
    """Send one packet; the answer's code (STORED, ACCEPTED, a refusal), or None when there was no valid answer."""
    sock = socket.socket()
    try:
        sock.settimeout(timeout)
        sock.connect(socket.getaddrinfo(address[0], address[1])[0][-1])
        sock.send(packet)
        answer = b""
        while len(answer) < 22:
            chunk = sock.recv(22 - len(answer))
            if not chunk:
                return None
            answer += chunk
    except OSError:
        return None
    finally:
        sock.close()
    code = answer[1]
    # Only the service holds the key: a "stored" or "accepted" answer must carry its tag.
    if (
        code in (STORED, ACCEPTED)
        and answer[6:] != hmac_sha256(key, answer[:6] + packet[-TAG_SIZE:])[:TAG_SIZE]
    ):
        return None
    return code


def delivered(code):
    """Whether the readings can be forgotten: stored on disk, or accepted by a service with no history.

    Anything else (no answer, not_stored, busy, truncated) means send them again at the next wake-up.
    """
    return code in (STORED, ACCEPTED)


def main():  # pragma: no cover - runs on the board
    import machine

    rtc = machine.RTC()
    memory = rtc.memory()
    sequence = (struct.unpack("<I", memory)[0] if len(memory) == 4 else 0) + 1
    rtc.memory(struct.pack("<I", sequence))
    battery_mv = 0  # e.g. machine.ADC(0).read() * your divider's factor
    readings = [(0x01, 21.5), (0x22, 45.2), (0x13, 1013.2)]  # read your sensor here (e.g. a BME280)
    code = send(build_packet(DEVICE_ID, sequence, battery_mv, WAKE_SECONDS, WAKE_SECONDS, readings, KEY), KEY)
    if code == STORED:
        print("stored")
    elif code == ACCEPTED:
        print("accepted: published, but the service keeps no history")
    else:
        # Keep the readings (e.g. in RTC memory) and send them with the next packet.
        print(f"not delivered (code {code}): sending again next time")
    machine.deepsleep(WAKE_SECONDS * 1000)


if __name__ == "__main__":
    main()
