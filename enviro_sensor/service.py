"""The running service: the board, the collector, the outputs and the LCD of one app.

It starts once per serving process (gunicorn's worker, or a test that asks),
never at import, so building an app is cheap and touches no hardware.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from enviro_sensor import hardware
from enviro_sensor.clocks import Clock, SystemClock
from enviro_sensor.collector.polling import Collector
from enviro_sensor.hardware.board import Board
from enviro_sensor.lcd import readings as lcd_readings
from enviro_sensor.lcd.display import Display
from enviro_sensor.metrics.sensor_health import SensorHealth
from enviro_sensor.metrics.service_metrics import ServiceMetrics
from enviro_sensor.nodes.intake import NodeIntake
from enviro_sensor.nodes.journal import FILE_NAME as JOURNAL_NAME
from enviro_sensor.nodes.journal import NodeJournal
from enviro_sensor.outputs.base import Output, OutputContext
from enviro_sensor.outputs.hub import OutputHub
from enviro_sensor.outputs.latest import LatestReadings, LatestStore
from enviro_sensor.outputs.registry import build_outputs
from enviro_sensor.sensors.config import GroupConfig, build_groups, configured_sensors
from enviro_sensor.settings import BOARD, LCD, NODES, SENSORS, SERVER, STORAGE, Settings
from enviro_sensor.version import VERSION

if TYPE_CHECKING:
    from enviro_sensor.nodes.devices import Device
    from enviro_sensor.nodes.listener import NodeListener
    from enviro_sensor.nodes.virtual import VirtualNodes

log = logging.getLogger(__name__)

# How long the outputs may take to finish what they hold at shutdown, in all:
# well inside gunicorn's graceful timeout.
OUTPUTS_STOP_SECONDS = 2.0


def _sampling_note(groups: list[GroupConfig]) -> str:
    intervals = ", ".join(f"{group.name} every {group.interval:g} s" for group in groups if group.enabled)
    return f" Sampled in the background ({intervals})."


class Service:
    """Owns the hardware side of one app and its lifecycle.

    ``outputs`` are extra outputs beside the HTTP cache and the Prometheus
    gauges (tests pass their own); ``clock`` is the time everything runs on.
    """

    def __init__(
        self,
        settings: Settings,
        registry: CollectorRegistry,
        board: Board | None = None,
        *,
        clock: Clock | None = None,
        outputs: list[Output] | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.board = board
        self.clock = clock or SystemClock()
        server, self._board_options = settings.of(SERVER), settings.of(BOARD)
        #: Needed by the state-changing routes (None: open to the LAN, safe from other sites).
        self.api_token = server.api_token
        #: Where the history lives (None: no history).
        self.data_dir = settings.of(STORAGE).data_dir
        self.board_kind = board.kind if board is not None else hardware.board_kind(self._board_options.board)
        self.metrics = ServiceMetrics(registry, VERSION, self.board_kind)
        sensor_options = settings.of(SENSORS)
        # Each kind's own options, by kind: handed to its readers and derivations alone.
        kind_options = {
            kind.kind: settings.of(kind.settings)
            for kind in {
                sensor.kind.kind: sensor.kind for sensor in configured_sensors(sensor_options.i2c_sensors)
            }.values()
            if kind.settings is not None
        }
        self.groups = build_groups(sensor_options, kind_options)
        sensors = {sensor.name: sensor for group in self.groups if group.enabled for sensor in group.sensors}
        nodes = settings.of(NODES)
        virtual: tuple[Device, ...] = ()
        if nodes.virtual:
            # The listener and the virtual nodes run on asyncio (about 3 MB with
            # their modules): imported only by a service that has nodes.
            from enviro_sensor.nodes.virtual import virtual_devices

            virtual = virtual_devices(nodes.virtual, {device.id for device in nodes.file})
        context = OutputContext(registry, sensors, tuple(self.groups), self.clock, (*nodes.file, *virtual))
        built = build_outputs(context, settings.of)
        lcd_options = settings.of(LCD)
        readings_on_lcd = lcd_readings.from_options(lcd_options, context)
        if readings_on_lcd is not None:
            built.append(readings_on_lcd)
        # Room for every node waking at once: a node's packet publishes a
        # reading per sensor (its battery included) and, the first time,
        # their status changes.
        node_records = sum(2 * (len(device.sensors()) + 1) for device in (*nodes.file, *virtual))
        self.outputs = OutputHub(
            [*built, *(outputs or [])],
            sensors,
            self.clock,
            registry,
            extra_queue=node_records,
        )
        #: The cache the JSON routes answer from.
        self.latest: LatestStore = next(o for o in built if isinstance(o, LatestReadings)).store
        readers = {
            name: sensor.kind.reader(sensor, kind_options.get(sensor.kind.kind), self.clock)
            for name, sensor in sensors.items()
        }
        derivations = {
            name: sensor.kind.derivation(sensor, kind_options.get(sensor.kind.kind), self.clock)
            for name, sensor in sensors.items()
            if sensor.kind.derivation is not None
        }
        self.collector = Collector(
            board,
            self.groups,
            readers,
            self.outputs.publish,
            SensorHealth(registry, _sampling_note(self.groups)),
            self.clock,
            calibration=sensor_options.calibration,
            room_reference=sensor_options.room_reference,
            derivations=derivations,
        )
        self._sensors = sensors
        # Remote nodes: a second source of readings, published to the same outputs.
        # With a data directory a node's "stored" means on disk: its packet is
        # journaled before the answer, and the outputs that keep readings say
        # what they have kept (nodes.journal).
        journal = None
        if nodes.data_dir and (nodes.file or virtual):
            journal = NodeJournal(Path(nodes.data_dir) / JOURNAL_NAME)
            for output in self.outputs.outputs:
                if output.keeps_readings:
                    output.journal = journal.consumer(output.name)
        self.nodes = NodeIntake(
            (*nodes.file, *virtual),
            self.outputs.publish,
            self.clock,
            registry,
            nodes.data_dir,
            journal,
        )
        self.listener: NodeListener | None = None
        if nodes.port is not None or virtual:
            # Virtual nodes alone need no open port: they are served on loopback.
            from enviro_sensor.nodes.listener import NodeListener

            host = nodes.host if nodes.port is not None else "127.0.0.1"
            self.listener = NodeListener(self.nodes, host, nodes.port or 0)
        self.virtual_nodes: VirtualNodes | None = None
        if virtual:
            from enviro_sensor.nodes.virtual import VirtualNodes

            self.virtual_nodes = VirtualNodes(virtual, "127.0.0.1", 0, self.clock, nodes.virtual_seed)
        self.display = Display(lcd_options, registry, self.clock, readings_on_lcd)
        self._lock = threading.Lock()
        self._started = False

    @property
    def started(self) -> bool:
        return self._started

    def open_board(self) -> Board:
        """Open the board (once) and give it the emulated chips the configured sensors need."""
        if self.board is None:
            self.board = hardware.open_board(self._board_options)
        for sensor in self._sensors.values():
            if sensor.kind.emulation is None or sensor.address is None:
                continue
            try:
                self.board.provide_i2c_chip(sensor.kind.emulation, sensor.address, sensor.bus)
            except OSError as err:
                # A bus the board lacks: the sensor's own set-up fails and says so.
                log.warning("%s: no emulated chip: %s", sensor.name, err)
        self.collector.board = self.board
        return self.board

    def start(self) -> None:
        """Open the board and start background work; a second call does nothing."""
        with self._lock:
            if self._started:
                return
            board = self.open_board()
            self.start_outputs()
            self.collector.start()
            self._start_nodes()
            # Opens in the background: the panel's set-up sleeps about a second.
            self.display.start(board)
            self._started = True
            log.info("service started on the %s board", self.board_kind)

    def start_outputs(self) -> None:
        """Start the outputs, then give those that keep readings what the node journal holds:
        packets the nodes were told were stored, which may not have reached them before a crash."""
        self.outputs.start()
        self.nodes.replay(self.outputs.replay)

    def _start_nodes(self) -> None:
        """The remote nodes' listener, then the virtual nodes that send to it."""
        if self.listener is None:
            return
        try:
            self.listener.start()
        except OSError as err:
            # The sensors and the HTTP side serve on; the log says why nodes cannot.
            log.error("cannot listen for remote nodes on port %s: %s", self.listener.port, err)
            self.listener = None
            return
        if self.virtual_nodes is not None:
            self.virtual_nodes.port = self.listener.port
            self.virtual_nodes.start()

    def stop(self) -> None:
        """Stop background work and release the board."""
        with self._lock:
            if not self._started:
                return
            self._started = False
            self.collector.stop()
            if self.virtual_nodes is not None:
                self.virtual_nodes.stop()
            if self.listener is not None:
                self.listener.stop()
            self.nodes.close()
            self.display.stop()  # backlight off while the board is still open
            if self.board is not None:
                self.board.close()
            # Last, and briefly: the hardware is released whatever an output
            # is stuck on; what it still holds is counted as dropped.
            self.outputs.stop(OUTPUTS_STOP_SECONDS)
            log.info("service stopped")

    def problems(self) -> list[str]:
        """Reasons the service cannot do its job; empty when it is healthy.

        A failing sensor is not one: restarting would not mend it, and the
        other sensors still serve. Polling that has stopped is.
        """
        problems = []
        if self._started and not self.collector.alive():
            problems.append("sensor polling has stopped")
        if self._started and self.listener is not None and not self.listener.alive():
            problems.append("the remote nodes' listener has stopped")
        return problems
