"""Metrics whose samples are kept between scrapes, made again only when they change.

prometheus_client's ``Counter``, ``Gauge`` and ``Histogram`` build every
label set's samples anew at each scrape. The sensors' health changes once
a poll and the request histogram once a request, while a scraper may ask
many times a second; building what did not change was most of the cost of
/metrics. These keep the samples (made by the library's own metric
families, so names, suffixes and labels are the library's) until a value
changes, and the exposition (``enviro_sensor.web.exposition``) then reuses their text too.
tests/test_exposition.py shows each writes what the library's metric writes.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.samples import Sample
from prometheus_client.utils import INF, floatToGoString


class KeptFamily(Collector):
    """A labelled counter or gauge: a value per label set, its family made on the first scrape after a change."""

    def __init__(
        self, kind: str, name: str, documentation: str, labels: Sequence[str], registry: CollectorRegistry
    ) -> None:
        assert kind in ("counter", "gauge"), kind
        self._kind = kind
        self._name = name
        self._documentation = documentation
        self._labels = tuple(labels)
        self._values: dict[tuple[str, ...], float] = {}
        self._family: Metric | None = None
        self._lock = threading.Lock()
        registry.register(self)

    def start(self, *labels: str) -> None:
        """Show this label set at 0 until it changes (so rate() sees its first increase)."""
        with self._lock:
            if labels not in self._values:
                self._values[labels] = 0.0
                self._family = None

    def set(self, labels: tuple[str, ...], value: float) -> None:
        with self._lock:
            self._values[labels] = float(value)
            self._family = None

    def inc(self, labels: tuple[str, ...], amount: float = 1.0) -> None:
        with self._lock:
            self._values[labels] = self._values.get(labels, 0.0) + amount
            self._family = None

    def describe(self) -> list[Metric]:
        return [self._empty()]

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if self._family is None:
                family = self._empty()
                for labels, value in self._values.items():
                    family.add_metric(list(labels), value)
                self._family = family
            yield self._family

    def _empty(self) -> CounterMetricFamily | GaugeMetricFamily:
        maker = CounterMetricFamily if self._kind == "counter" else GaugeMetricFamily
        return maker(self._name, self._documentation, labels=self._labels)


class _Series:
    """One label set's histogram: a count per bucket, the sum, and its samples once made."""

    def __init__(self, bounds: int) -> None:
        self.counts = [0] * bounds
        self.sum = 0.0
        self.samples: list[Sample] | None = None


class RequestDurations(Collector):
    """``enviro_http_request_duration_seconds``, a label set's samples kept until it observes again.

    Bucket semantics are the library's ``Histogram``'s: a value counts in the
    first bucket whose bound is at least the value; counts are cumulative.
    """

    NAME = "enviro_http_request_duration_seconds"
    HELP = "Time spent answering HTTP requests, by route template, method and status."
    LABELS = ("route", "method", "status")

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self._bounds = [*buckets, INF]
        self._le = [floatToGoString(bound) for bound in self._bounds]
        self._series: dict[tuple[str, str, str], _Series] = {}
        self._lock = threading.Lock()

    def observe(self, labels: tuple[str, str, str], seconds: float) -> None:
        """Count one request of this route, method and status."""
        with self._lock:
            series = self._series.get(labels)
            if series is None:
                series = self._series[labels] = _Series(len(self._bounds))
            series.counts[bisect.bisect_left(self._bounds, seconds)] += 1
            series.sum += seconds
            series.samples = None

    def describe(self) -> list[Metric]:
        return [HistogramMetricFamily(self.NAME, self.HELP, labels=self.LABELS)]

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.NAME, self.HELP, labels=self.LABELS)
        with self._lock:
            for labels, series in self._series.items():
                if series.samples is None:
                    series.samples = self._samples(labels, series)
                family.samples.extend(series.samples)
        yield family

    def _samples(self, labels: tuple[str, str, str], series: _Series) -> list[Sample]:
        made = HistogramMetricFamily(self.NAME, self.HELP, labels=self.LABELS)
        cumulative, buckets = 0, []
        for le, count in zip(self._le, series.counts, strict=True):
            cumulative += count
            buckets.append((le, float(cumulative)))
        made.add_metric(list(labels), buckets, series.sum)
        return made.samples
