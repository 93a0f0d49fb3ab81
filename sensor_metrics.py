"""Sensor metrics: measurements and per-sensor health, from the collector's cache.

The measurement gauges are produced at scrape time from the cache (a custom
collector), so a stale reading simply is not exported and Prometheus sees
its series end. Health follows node_exporter's per-collector pattern: up,
last success, last read's duration, and error counters by reason.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector as _PrometheusCollector

if TYPE_CHECKING:
    from collector import Collector

# Every reason a read can fail with; the counters start at 0 for each, so
# rate() and increase() work from the first failure on.
READ_ERROR_REASONS = (
    "setup_failed",
    "timeout",
    "io_error",
    "checksum",
    "no_data",
    "invalid_reading",
    "driver_error",
)


def error_reason(err: BaseException) -> str:
    """The reason label for an exception a driver raised."""
    if isinstance(err, TimeoutError):
        return "timeout"
    if isinstance(err, OSError):
        return "io_error"
    return "driver_error"


class SensorMetrics:
    """Counters updated by the collector, gauges read from it at scrape time."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.read_errors = Counter(
            "enviro_sensor_read_errors",
            "Failed attempts to set up or read a sensor, by reason.",
            ["sensor", "reason"],
            registry=registry,
        )
        self.rejected_readings = Counter(
            "enviro_readings_rejected",
            "Values a sensor returned that failed validation (type, finite, datasheet range) and were not published.",
            ["sensor", "field", "reason"],
            registry=registry,
        )
        self._collector: Collector | None = None
        registry.register(_CacheCollector(self))

    def attach(self, collector: Collector) -> None:
        self._collector = collector
        # Counters start at 0 for every reason a sensor can fail with, so
        # rate() and increase() see the first failure.
        for name, state in collector.states.items():
            for reason in state.reader.error_reasons:
                self.read_errors.labels(name, reason)

    def read_error(self, sensor: str, reason: str) -> None:
        self.read_errors.labels(sensor, reason).inc()

    def rejected(self, sensor: str, field: str, reason: str) -> None:
        self.rejected_readings.labels(sensor, field, reason).inc()

    def families(self):
        collector = self._collector
        if collector is None:
            return
        snapshot = collector.snapshot()
        yield from _measurements(collector, snapshot)
        yield from _health(collector, snapshot)


def _sampling_note(groups) -> str:
    intervals = ", ".join(f"{group.name} every {group.interval:g} s" for group in groups)
    return f" Sampled in the background ({intervals}) and served from cache; absent when stale."


def _measurements(collector: Collector, snapshot):
    # Fields of every sensor, grouped by metric: one family per quantity,
    # the sensor (and channel, size...) as labels.
    fields_by_metric = collections.defaultdict(list)
    for state in collector.states.values():
        for field in state.reader.fields:
            fields_by_metric[field.metric].append((state, field))
    for metric, entries in fields_by_metric.items():
        first_field = entries[0][1]
        groups = {state.group.name: state.group for state, _ in entries}.values()
        label_names = ["sensor", *first_field.labels]
        family = GaugeMetricFamily(metric, first_field.help + _sampling_note(groups), labels=label_names)
        for state, field in entries:
            sensor = snapshot[state.reader.name]
            if (
                sensor.values is None
                or sensor.stale
                or sensor.status == "warming-up"
                or field.key not in sensor.values
            ):
                continue
            family.add_metric([sensor.name, *field.labels.values()], sensor.values[field.key] * field.scale)
        if family.samples:
            yield family


def _health(collector: Collector, snapshot):
    note = _sampling_note([g for g in collector.groups.values() if g.enabled])
    up = GaugeMetricFamily(
        "enviro_sensor_up", "1 if the sensor's last read succeeded, 0 if it failed." + note, labels=["sensor"]
    )
    last = GaugeMetricFamily(
        "enviro_sensor_last_success_timestamp_seconds",
        "Unix time of the sensor's last valid reading.",
        labels=["sensor"],
    )
    duration = GaugeMetricFamily(
        "enviro_sensor_read_duration_seconds", "Time the sensor's last read took.", labels=["sensor"]
    )
    for sensor in snapshot.values():
        up.add_metric([sensor.name], 1.0 if sensor.up else 0.0)
        if sensor.wall_time is not None:
            last.add_metric([sensor.name], sensor.wall_time)
        if sensor.last_duration is not None:
            duration.add_metric([sensor.name], sensor.last_duration)
    for family in (up, last, duration):
        if family.samples:
            yield family


class _CacheCollector(_PrometheusCollector):
    """Adapts SensorMetrics to prometheus_client's collector protocol."""

    def __init__(self, metrics: SensorMetrics) -> None:
        self._metrics = metrics

    def describe(self):
        # Names depend on the configured sensors, known only once attached;
        # describing nothing keeps registration from calling collect early.
        return []

    def collect(self):
        return self._metrics.families()
