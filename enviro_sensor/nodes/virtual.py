"""Simulated battery nodes (ENVIRO_VIRTUAL_NODES): wake, connect, send, wait for the answer, sleep.

Each node has its own room (the virtual board's environment model with a
seed of its own) and a battery that drains a little with every wake-up and
is "recharged" at 3.3 V. They talk to the listener over TCP on loopback
exactly as a board would, so the demo shows them in /api/nodes, /metrics,
the history and MQTT. Their devices (ids, names, keys) are made up here;
the keys are random for each run, so nothing outside the process can
speak for a virtual node.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import secrets
import threading
import time

from enviro_sensor.clocks import Clock
from enviro_sensor.hardware.virtual.environment import Environment
from enviro_sensor.nodes import protocol
from enviro_sensor.nodes.client import exchange_async
from enviro_sensor.nodes.devices import Device, parse_measurement
from enviro_sensor.nodes.protocol import Code, Encoding, Measurement, Packet

log = logging.getLogger(__name__)

#: Device ids of virtual nodes: from 0xE0000001 up, away from real boards' chip ids.
FIRST_VIRTUAL_ID = 0xE000_0001
WAKE_SECONDS = 10
# Longest the nodes sleep in real time before they look at their clock
# again (a clock that tests move may have jumped past a wake-up).
CLOCK_LOOK_SECONDS = 0.5
MEASUREMENTS = ("bme280.temperature_celsius", "bme280.humidity_percent", "bme280.pressure_hectopascals")
FULL_MV, EMPTY_MV, DRAIN_MV = 4150, 3300, 2


def virtual_devices(count: int, taken: set[int] | None = None) -> tuple[Device, ...]:
    """``count`` made-up devices (``virtual-001``...) with fresh random keys."""
    taken = taken or set()
    measured = tuple(parse_measurement(item) for item in MEASUREMENTS)
    devices = []
    device_id = FIRST_VIRTUAL_ID
    for index in range(count):
        while device_id in taken:
            device_id += 1
        devices.append(
            Device(
                device_id,
                f"virtual-{index + 1:03d}",
                f"simulated room {index + 1}",
                secrets.token_bytes(32),
                measured,
                virtual=True,
            )
        )
        device_id += 1
    return tuple(devices)


@dataclasses.dataclass
class VirtualNode:
    """One simulated board: its device, room, battery and sequence counter."""

    device: Device
    environment: Environment
    battery_mv: int = FULL_MV
    sequence: int = 0

    def wake(self, clock: Clock, wake_seconds: int = WAKE_SECONDS) -> Packet:
        """Measure the room and make the next packet (as the firmware does after deep sleep)."""
        t = clock.now()
        # A counter that also follows the time, so a restarted node (or
        # service) never repeats a number: what a board with NTP can do.
        self.sequence = max(self.sequence + 1, int(t))
        self.battery_mv -= DRAIN_MV
        if self.battery_mv < EMPTY_MV:
            self.battery_mv = FULL_MV
        room = self.environment.room_temperature(t)
        humidity = self.environment.room_humidity(t, room, 0.0)
        pressure = self.environment.pressure(t) / 100
        return Packet(
            device=self.device.id,
            sequence=self.sequence,
            battery_mv=self.battery_mv,
            measure_interval=wake_seconds,
            wake_interval=wake_seconds,
            measurements=(
                Measurement(Encoding.FLOAT32, room),
                Measurement(Encoding.INT16, round(humidity * 100), 2),
                Measurement(Encoding.UINT16, round(pressure * 10), 1),
            ),
        )


class VirtualNodes:
    """N simulated nodes sending to ``host``:``port`` every ``wake_seconds``, from one thread."""

    def __init__(
        self,
        devices: tuple[Device, ...],
        host: str,
        port: int,
        clock: Clock,
        seed: int = 1,
        wake_seconds: int = WAKE_SECONDS,
    ) -> None:
        self.host, self.port, self.clock, self.wake_seconds = host, port, clock, wake_seconds
        self.nodes = [
            VirtualNode(device, Environment(clock, seed=seed * 7919 + index + 1), FULL_MV - 11 * index % 600)
            for index, device in enumerate(devices)
        ]
        self.answers: collections.Counter[str] = collections.Counter()
        self.latencies: list[float] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    async def send(self, node: VirtualNode) -> Code | None:
        """One wake-up of one node: the answer's code, or None when the service could not be reached."""
        packet = node.wake(self.clock, self.wake_seconds)
        data = protocol.encode(packet, node.device.key)
        started = time.perf_counter()
        try:
            answer = await exchange_async(self.host, self.port, data, node.device.key)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as err:
            self.answers["unreachable"] += 1
            log.debug("%s: %s", node.device.name, err)
            return None
        self.latencies.append(time.perf_counter() - started)
        del self.latencies[:-10_000]  # the recent ones are enough for percentiles
        self.answers[answer.code.reason] += 1
        return answer.code

    async def round(self) -> list[Code | None]:
        """Every node wakes and sends once, all at the same time."""
        return list(await asyncio.gather(*(self.send(node) for node in self.nodes)))

    def start(self) -> None:
        """Run the nodes in the background, each on its own schedule (spread over one interval)."""
        self._thread = threading.Thread(target=self._run, name="virtual-nodes", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._forever())
        except asyncio.CancelledError:
            pass
        finally:
            loop.close()

    async def _forever(self) -> None:
        async def live(index: int, node: VirtualNode) -> None:
            wake_at = self.clock.monotonic() + self.wake_seconds * index / max(1, len(self.nodes))
            while True:
                await self._until(wake_at)
                await self.send(node)
                # A fixed cadence, as a node's timer keeps: the next wake-up
                # does not depend on how long the answer took.
                wake_at += self.wake_seconds

        await asyncio.gather(*(live(i, node) for i, node in enumerate(self.nodes)))

    async def _until(self, deadline: float) -> None:
        """Sleep until the clock reads ``deadline`` (monotonic).

        The clock's time, not the loop's: on the system clock that is real
        time, and on a test's clock the nodes wake when the test moves it.
        """
        while (left := deadline - self.clock.monotonic()) > 0:
            await asyncio.sleep(min(left, CLOCK_LOOK_SECONDS))

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():

            def cancel() -> None:
                for task in asyncio.all_tasks(loop):
                    task.cancel()

            loop.call_soon_threadsafe(cancel)
            thread.join(5.0)
