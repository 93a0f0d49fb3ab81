"""Remote nodes' packets per second on one core, and the acknowledgement latency.

The listener (its asyncio thread, the intake's HMAC check and validation,
and an output hub with the HTTP cache as its output, on its own thread) runs
in a child process pinned to one CPU; the senders run in this process,
pinned to another, so the figure is the listener's own. Two ways of sending:

- ``connect per packet``: what a battery node does (connect, send, wait for
  the answer, close), from ``--concurrency`` senders at once;
- ``kept connection``: each sender keeps its connection and sends packet
  after packet (a gateway relaying for many nodes).

Each way is measured twice: *durable*, with a node journal in a temporary
folder (what ENVIRO_DATA_DIR gives: each answer waits for its packet's
group fsync, and the table says how many packets one fsync carried), and
*not durable* (no data directory: answered ``accepted`` at once).

Latency is from the first byte sent to the whole answer received, connection
set-up included for the first way. Asserts nothing: it prints a table.
Run: ``.venv/bin/python bench/nodes.py [--seconds 5] [--concurrency 50] [--folder DIR]``
(``--folder`` on the SD card measures its fsyncs, not those of the system's temporary folder).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from enviro_sensor.clocks import SystemClock  # noqa: E402
from enviro_sensor.hardware.virtual.environment import Environment  # noqa: E402
from enviro_sensor.nodes import protocol  # noqa: E402
from enviro_sensor.nodes.client import exchange_async  # noqa: E402
from enviro_sensor.nodes.devices import Device  # noqa: E402
from enviro_sensor.nodes.intake import NodeIntake  # noqa: E402
from enviro_sensor.nodes.journal import FILE_NAME as JOURNAL_NAME  # noqa: E402
from enviro_sensor.nodes.journal import NodeJournal  # noqa: E402
from enviro_sensor.nodes.listener import NodeListener  # noqa: E402
from enviro_sensor.nodes.virtual import VirtualNode, virtual_devices  # noqa: E402
from enviro_sensor.outputs.hub import OutputHub  # noqa: E402
from enviro_sensor.outputs.latest import LatestReadings, LatestStore  # noqa: E402

NODES = 1000
PACKETS = 150_000
KEPT = (protocol.Code.STORED, protocol.Code.ACCEPTED)


def _serve(devices: tuple[Device, ...], cpu: int, folder: str | None, ports, stop) -> None:
    os.sched_setaffinity(0, {cpu})
    clock = SystemClock()
    hub = OutputHub([LatestReadings(LatestStore({}, {}, clock))], {}, clock, extra_queue=10 * len(devices))
    hub.start()
    journal = NodeJournal(Path(folder) / JOURNAL_NAME) if folder else None
    intake = NodeIntake(devices, hub.publish, clock, journal=journal)
    listener = NodeListener(intake, "127.0.0.1", 0)
    listener.start()
    ports.put(listener.port)
    stop.wait()
    listener.stop()
    kept = "stored" if journal is not None else "accepted"
    stored = intake.results()[("tcp", kept)]
    refused = sum(n for (_, reason), n in intake.results().items() if reason != kept)
    per_sync = journal.entries / journal.commits if journal is not None and journal.commits else 0.0
    ports.put((stored, refused, per_sync))
    hub.stop()


class Sender:
    def __init__(self, devices: tuple[Device, ...], port: int) -> None:
        clock = SystemClock()
        self.port = port
        self.nodes = [VirtualNode(device, Environment(clock, seed=i + 1)) for i, device in enumerate(devices)]
        self.clock = clock
        self.latencies: list[float] = []
        self.failures = 0
        # Made before the clock starts: the simulated rooms cost the senders' CPU, not the listener's.
        self.packets = [self._make(index) for index in range(PACKETS)]

    def _make(self, index: int) -> tuple[bytes, bytes]:
        node = self.nodes[index % len(self.nodes)]
        return protocol.encode(node.wake(self.clock), node.device.key), node.device.key

    def packet(self, index: int) -> tuple[bytes, bytes]:
        if index >= len(self.packets):
            raise RuntimeError("more packets sent than made: raise PACKETS")
        return self.packets[index]

    async def per_connection(self, worker: int, workers: int, until: float) -> None:
        index = worker
        while time.perf_counter() < until:
            data, key = self.packet(index)
            index += workers
            started = time.perf_counter()
            try:
                answer = await exchange_async("127.0.0.1", self.port, data, key)
            except (OSError, TimeoutError, ValueError):
                self.failures += 1
                continue
            self.latencies.append(time.perf_counter() - started)
            self.failures += answer.code not in KEPT

    async def kept(self, worker: int, workers: int, until: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        index = worker
        try:
            while time.perf_counter() < until:
                data, _ = self.packet(index)
                index += workers
                started = time.perf_counter()
                writer.write(data)
                answer = await reader.readexactly(protocol.ACK_SIZE)
                self.latencies.append(time.perf_counter() - started)
                self.failures += answer[1] not in KEPT
        finally:
            writer.close()

    async def run(self, mode: str, concurrency: int, seconds: float) -> None:
        until = time.perf_counter() + seconds
        work = self.per_connection if mode == "connect" else self.kept
        await asyncio.gather(*(work(i, concurrency, until) for i in range(concurrency)))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--folder", default=None, help="where the journal is written (default: the system's temporary folder)"
    )
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, client_cpu = cpus[0], cpus[-1]
    devices = virtual_devices(NODES)
    print(f"listener on CPU {server_cpu}, senders on CPU {client_cpu}, {NODES} devices, "
          f"{args.concurrency} senders at once, {args.seconds:g} s per way")  # fmt: skip
    print()
    print("| way | acks | packets/s | ack p50 ms | ack p99 ms | packets per fsync | refused or failed |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for mode, label in (("connect", "connect per packet"), ("kept", "kept connection")):
        for durable in (True, False):
            with tempfile.TemporaryDirectory(dir=args.folder) as folder:
                row = _measure(
                    devices, mode, (durable and folder) or None, server_cpu, client_cpu, cpus, args
                )
            stored, refused, per_sync, elapsed, latencies, failures = row
            print(
                f"| {label} | {'durable (stored)' if durable else 'not durable (accepted)'} | "
                f"{stored / elapsed:.0f} | {1000 * statistics.median(latencies):.2f} | "
                f"{1000 * _percentile(latencies, 0.99):.2f} | {f'{per_sync:.1f}' if durable else '-'} | "
                f"{refused + failures} |"
            )


def _measure(devices, mode, folder, server_cpu, client_cpu, cpus, args):
    ports: multiprocessing.Queue = multiprocessing.Queue()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(devices, server_cpu, folder, ports, stop))
    server.start()
    port = ports.get(timeout=30)
    os.sched_setaffinity(0, {client_cpu})
    sender = Sender(devices, port)
    started = time.perf_counter()
    asyncio.run(sender.run(mode, args.concurrency, args.seconds))
    elapsed = time.perf_counter() - started
    stop.set()
    stored, refused, per_sync = ports.get(timeout=60)
    server.join(30)
    os.sched_setaffinity(0, set(cpus))
    return stored, refused, per_sync, elapsed, sender.latencies, sender.failures


if __name__ == "__main__":
    main()
