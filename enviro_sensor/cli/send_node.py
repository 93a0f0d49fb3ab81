"""Send one remote-node packet and show the answer: for testing a node's firmware against the service.

    enviro-sensor send-node --host pi --port 8089 --device 1001 --key <hex> \\
        --sequence 1847 --battery-mv 3712 --value f32:21.5 --value i16.2:45.2

A value is ``encoding[.scale]:number``: f32, i16, u16 or u8, and for the
integer encodings a decimal scale (``i16.2:45.2`` sends 4520). The packet
is printed in hex; ``--dump`` prints it without sending. See docs/nodes.md.

Exit status: 0 stored (on the service's disk), 3 accepted (published, but
the service keeps no history, so nothing is on disk), 1 refused or not
stored (the answer says why), 2 no valid answer.
"""

from __future__ import annotations

import argparse
import sys
import time

from enviro_sensor.nodes import client, protocol
from enviro_sensor.nodes.protocol import Encoding, Measurement, Packet

ENCODINGS = {"f32": Encoding.FLOAT32, "i16": Encoding.INT16, "u16": Encoding.UINT16, "u8": Encoding.UINT8}


def parse_value(text: str) -> Measurement:
    kind, _, number = text.partition(":")
    name, _, scale_text = kind.partition(".")
    if name not in ENCODINGS or not number:
        raise argparse.ArgumentTypeError(f"expected f32:21.5, i16.2:45.2, u16:1013 or u8:7, got {text!r}")
    try:
        value = float(number)
        scale = int(scale_text or 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number in {text!r}") from None
    encoding = ENCODINGS[name]
    if encoding is Encoding.FLOAT32:
        return Measurement(encoding, value)
    return Measurement(encoding, round(value * 10**scale), scale)


def main(argv: list[str] | None = None, prog: str = "enviro-sensor send-node") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--device", type=int, required=True, help="the device id")
    parser.add_argument("--key", required=True, help="the device's key in hex")
    parser.add_argument("--sequence", type=int, default=None, help="default: the Unix time")
    parser.add_argument("--battery-mv", type=int, default=0)
    parser.add_argument("--measure-interval", type=int, default=300)
    parser.add_argument("--wake-interval", type=int, default=300)
    parser.add_argument("--value", type=parse_value, action="append", default=[], help="e.g. f32:21.5")
    parser.add_argument("--dump", action="store_true", help="print the packet, do not send it")
    args = parser.parse_args(argv)
    try:
        key = bytes.fromhex(args.key)
    except ValueError:
        parser.error("--key: not hex")
    packet = Packet(
        device=args.device,
        sequence=args.sequence if args.sequence is not None else int(time.time()),
        battery_mv=args.battery_mv,
        measure_interval=args.measure_interval,
        wake_interval=args.wake_interval,
        measurements=tuple(args.value),
    )
    data = protocol.encode(packet, key)
    print("packet:", data.hex(" "))
    if args.dump:
        return 0
    try:
        answer = client.exchange(args.host, args.port, packet, key)
    except (OSError, ValueError) as err:
        print(f"no valid answer: {err}", file=sys.stderr)
        return 2
    print(f"answer: {answer.code.reason} (code {int(answer.code)}), sequence {answer.sequence}")
    if answer.code is protocol.Code.STORED:
        return 0
    if answer.code is protocol.Code.ACCEPTED:
        print("published, but not stored: the service has no ENVIRO_DATA_DIR, so nothing is on disk")
        return 3
    if answer.code is protocol.Code.NOT_STORED:
        print("not stored: the service could not write it to disk; send the readings again")
    return 1
