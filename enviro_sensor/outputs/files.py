"""A sensor file tree: the latest reading of each sensor as a file, for programs that read files.

Off unless ENVIRO_EXPORT_DIR is set. In that directory:

- ``<sensor>.json``: the host, sensor, group, status, time and values of the
  sensor's latest reading, rewritten on every reading and status change;
- ``enviro.prom``: the measurement gauges of /metrics in the text format
  node_exporter's textfile collector reads
  (``--collector.textfile.directory``), for Pis that already run it.

Every file is written beside its final name and renamed over it, so a
reader sees the old file or the new one, never half of one. Nothing is
synced to disk: these are the latest values, rewritten every few seconds,
and belong on a RAM-backed directory such as /run (the SD card is spared).
"""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector as PrometheusCollector

from enviro_sensor.config import parsers
from enviro_sensor.config.declarations import Setting, declare
from enviro_sensor.durable_file import replace_file
from enviro_sensor.outputs.base import Output, OutputContext
from enviro_sensor.outputs.latest import LatestStore
from enviro_sensor.outputs.prometheus import measurement_families
from enviro_sensor.records import LOCAL_SOURCE, Reading, StatusChange, iso_utc

TEXTFILE_NAME = "enviro.prom"


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that no reader ever sees a partial file."""
    # Not synced: the tree is a view of the latest readings, rewritten at
    # every poll; flushing each file to the SD card would wear it for nothing.
    replace_file(path, data, sync=False)


class _Families(PrometheusCollector):
    def __init__(self, store: LatestStore, intervals: Mapping[str, float]) -> None:
        self._store = store
        self._intervals = intervals

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        return measurement_families(self._store, self._intervals)


class FileTree(Output):
    """Writes ``<sensor>.json`` and ``enviro.prom`` into one directory."""

    name = "files"

    def __init__(
        self,
        directory: Path,
        store: LatestStore,
        intervals: Mapping[str, float],
        host: str | None = None,
    ) -> None:
        self.directory = directory
        self.store = store
        self.host = host or socket.gethostname()
        # A registry of its own, only to render the text format.
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(_Families(store, dict(intervals)))

    def start(self, sensors: Mapping[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    def handle_reading(self, reading: Reading) -> None:
        self.store.put_reading(reading)
        if reading.source != LOCAL_SOURCE:
            self._write_remote(reading)
            return
        self._write(reading.sensor)

    def handle_status(self, change: StatusChange) -> None:
        self.store.put_status(change)
        if change.source == LOCAL_SOURCE:
            self._write(change.sensor)

    def _write_remote(self, reading: Reading) -> None:
        """A remote node's sensor: ``nodes/<node>/<sensor>.json``."""
        document = {
            "host": self.host,
            "node": reading.source,
            "sensor": reading.sensor,
            "time": iso_utc(reading.time),
            "values": dict(reading.values),
        }
        directory = self.directory / "nodes" / reading.source
        directory.mkdir(parents=True, exist_ok=True)
        write_atomically(self.directory / TEXTFILE_NAME, generate_latest(self._registry))
        write_atomically(directory / f"{reading.sensor}.json", (json.dumps(document) + "\n").encode())

    def _write(self, sensor: str) -> None:
        view = self.store.view(sensor)
        document = {
            "host": self.host,
            "sensor": view.name,
            "group": view.group,
            "status": view.status,
            "reason": view.reason,
            "time": iso_utc(view.wall_time) if view.wall_time is not None else None,
            "stale": view.stale,
            "values": dict(view.values) if view.values is not None else None,
        }
        # The textfile first: whoever sees a reading in the JSON finds it there too.
        write_atomically(self.directory / TEXTFILE_NAME, generate_latest(self._registry))
        write_atomically(self.directory / f"{sensor}.json", (json.dumps(document) + "\n").encode())


@dataclasses.dataclass(frozen=True)
class FilesOptions:
    #: None: the output is off.
    export_dir: str | None


SETTINGS = declare(
    "files",
    FilesOptions,
    Setting(
        "export_dir",
        "",
        parsers.optional_directory,
        "directory for the latest reading of each sensor as `<sensor>.json` and `enviro.prom` "
        "for node_exporter's textfile collector (best on tmpfs, e.g. /run/enviro-sensor); empty for none",
    ),
    prefix="",
)


def from_context(context: OutputContext, options: FilesOptions) -> FileTree | None:
    """On when ENVIRO_EXPORT_DIR is set."""
    directory = options.export_dir
    if directory is None:
        return None
    store = LatestStore(context.sensors, context.freshness, context.clock)
    return FileTree(Path(directory), store, context.intervals)
