"""The measurement gauges of /metrics, built at scrape time from the latest readings.

One family per quantity (``Field.metric``), the sensor and the field's own
labels (channel, size...) as labels. A stale or warming-up reading is left
out, so Prometheus sees the series end rather than a frozen value.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector as PrometheusCollector
from prometheus_client.samples import Sample

from enviro_sensor.nodes.fields import field_of
from enviro_sensor.outputs.base import OutputContext
from enviro_sensor.outputs.latest import LatestReadings, LatestStore
from enviro_sensor.sensors.base import Field
from enviro_sensor.sensors.config import Sensor


class PrometheusGauges(LatestReadings):
    """Keeps the latest readings, like the HTTP cache, and exports them when scraped."""

    name = "prometheus"

    def __init__(
        self, store: LatestStore, registry: CollectorRegistry, intervals: Mapping[str, float]
    ) -> None:
        super().__init__(store)
        self._intervals = dict(intervals)
        # The families of the last scrape, the store's generation they were
        # built from, and when the first of their readings turns stale: a
        # scrape between two readings gets the same families without
        # rebuilding them (and the exposition then reuses their text).
        self._kept: tuple[int, float, list[Metric]] | None = None
        registry.register(_Gauges(self))

    def families(self) -> list[Metric]:
        """The families of the current readings, rebuilt only when a record or a staleness changes them."""
        generation = self.store.generation
        kept = self._kept
        if kept is not None and kept[0] == generation and self.store.clock.monotonic() < kept[1]:
            return kept[2]
        # The expiry is taken first: a reading turning stale while these are built
        # leaves them valid for no time at all, never for too long.
        expiry = self.store.next_expiry()
        families = list(self._build())
        self._kept = (generation, expiry, families)
        return families

    def _build(self) -> Iterator[Metric]:
        yield from measurement_families(self.store, self._intervals)
        paused = GaugeMetricFamily(
            "enviro_sensor_paused",
            "1 while the sensor's group is paused by request (POST /api/sensors/<group>/pause), else 0.",
            labels=["sensor"],
        )
        sleeping = GaugeMetricFamily(
            "enviro_sensor_sleeping",
            "1 while a duty-cycled sensor sleeps between readings (ENVIRO_PARTICULATES_DUTY; its last "
            "reading stays current until the next), else 0. Computed at scrape time.",
            labels=["sensor"],
        )
        for view in self.store.views():
            paused.add_metric([view.name], 1.0 if view.status == "paused" else 0.0)
            sleeping.add_metric([view.name], 1.0 if view.sleeping else 0.0)
        yield paused
        yield sleeping


def measurement_families(store: LatestStore, intervals: Mapping[str, float]) -> Iterator[Metric]:
    """One gauge family per quantity, from the current (not stale, not warming-up) readings.

    A remote node's values join the same families with a ``node`` label
    beside ``sensor``: ``enviro_temperature_celsius{node="kitchen",sensor="bme280"}``.
    """
    fields_by_metric: dict[str, list[tuple[Sensor, Field]]] = collections.defaultdict(list)
    for sensor in store.sensors().values():
        for field in sensor.fields:
            fields_by_metric[field.metric].append((sensor, field))
    remote_by_metric: dict[str, list[Sample]] = collections.defaultdict(list)
    remote_fields: dict[str, Field] = {}
    for remote in store.remote_views():
        if remote.stale:
            continue
        for key, remote_value in remote.values.items():
            declared = field_of(remote.sensor, key)
            if declared is None:
                continue
            labels = {"sensor": remote.sensor, "node": remote.node, **declared.labels}
            sample = Sample(declared.metric, labels, remote_value * declared.scale)
            remote_by_metric[declared.metric].append(sample)
            remote_fields.setdefault(declared.metric, declared)
    for metric in remote_fields:
        fields_by_metric.setdefault(metric, [])
    views = {view.name: view for view in store.views()}
    for metric, entries in fields_by_metric.items():
        first = entries[0][1] if entries else remote_fields[metric]
        note = _sampling_note(intervals, {sensor.group for sensor, _ in entries}) if entries else _REMOTE_NOTE
        family = GaugeMetricFamily(metric, first.help + note, labels=["sensor", *first.labels])
        for sensor, field in entries:
            view = views[sensor.name]
            if view.values is None or view.stale or view.status == "warming-up":
                continue
            value = view.values.get(field.key)
            if value is not None:
                family.add_metric([sensor.name, *field.labels.values()], value * field.scale)
        family.samples.extend(remote_by_metric.get(metric, ()))
        if family.samples:
            yield family


_REMOTE_NOTE = " Sent by remote nodes (the node label); absent when stale."


def _sampling_note(intervals: Mapping[str, float], groups: set[str]) -> str:
    every = ", ".join(f"{name} every {intervals[name]:g} s" for name in intervals if name in groups)
    return f" Sampled in the background ({every}) and served from cache; absent when stale."


class _Gauges(PrometheusCollector):
    """Adapts the output to prometheus_client's collector protocol."""

    def __init__(self, output: PrometheusGauges) -> None:
        self._output = output

    def describe(self) -> list[Metric]:
        # Names depend on the configured sensors; describing nothing keeps
        # registration from calling collect early.
        return []

    def collect(self) -> Iterator[Metric]:
        return iter(self._output.families())


def from_context(context: OutputContext, options: None = None) -> PrometheusGauges:
    """Always on: /metrics is part of the service."""
    store = LatestStore(context.sensors, context.freshness, context.clock)
    return PrometheusGauges(store, context.registry, context.intervals)
