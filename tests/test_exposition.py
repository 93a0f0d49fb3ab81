"""/metrics with its text kept between scrapes: the library's bytes, always current."""

from __future__ import annotations

import math
import random

import pytest
from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    StateSetMetricFamily,
    UnknownMetricFamily,
)
from prometheus_client.exposition import choose_encoder, generate_latest
from prometheus_client.samples import Exemplar

from enviro_sensor.metrics.exposition import MemoizedEncoder
from enviro_sensor.metrics.kept import KeptFamily, RequestDurations
from enviro_sensor.metrics.service_metrics import HTTP_BUCKETS
from enviro_sensor.web import metrics as metrics_route
from tests.sensor_support import PolledApp

# What scrapers send: nothing (curl), Prometheus's own Accept, and OpenMetrics
# with each escaping scheme the library knows.
ACCEPTS = [
    "",
    "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.1",
    "application/openmetrics-text; version=1.0.0; escaping=values",
    "application/openmetrics-text; version=1.0.0; escaping=dots",
    "application/openmetrics-text; version=1.0.0; escaping=allow-utf-8",
    "text/plain; version=1.0.0; escaping=underscores",
]


class FamiliesCollector:
    """A collector yielding whatever families the test sets."""

    def __init__(self) -> None:
        self.families: list = []

    def collect(self):
        return iter(self.families)


def library_and_memo(accept: str):
    encode, _ = choose_encoder(accept)
    return encode, MemoizedEncoder(encode)


@pytest.mark.parametrize("accept", ACCEPTS)
def test_every_kind_of_metric_is_written_as_the_library_writes_it(accept):
    registry = CollectorRegistry()
    requests = Counter("requests", 'Requests.\nTwo lines, a \\ and a "quote".', ["path"], registry=registry)
    level = Gauge("level_volts", "A level.", ["where"], unit="volts", registry=registry)
    latency = Histogram("latency_seconds", "Latency.", ["route"], buckets=(0.1, 1.0), registry=registry)
    sizes = Summary("sizes_bytes", "Sizes.", registry=registry)
    Info("build", "Build.", registry=registry).info({"version": "1.2", "board": 'vir"tual\\\n'})
    Enum("state", "State.", states=["a", "b"], registry=registry).state("b")
    custom = FamiliesCollector()
    registry.register(custom)
    custom.families = [
        StateSetMetricFamily("modes", "Modes.", {"eco": True, "boost": False}),
        UnknownMetricFamily("mystery", "Unknown.", value=3),
        InfoMetricFamily("node", "Node.", value={"name": "kitchen"}),
    ]
    # Label values that need escaping, non-ASCII text, and every kind of float.
    for path in ['/a"b', "/back\\slash", "/new\nline", "/température", "/☃"]:
        requests.labels(path).inc(3)
    for where, value in [
        ("zero", 0.0),
        ("minus zero", -0.0),
        ("inf", math.inf),
        ("-inf", -math.inf),
        ("nan", math.nan),
        ("big", 1.5e300),
        ("small", 1e-7),
        ("whole", 123456789.0),
        ("int", 7),
    ]:
        level.labels(where).set(value)
    latency.labels("/x").observe(0.5)
    sizes.observe(1024)
    encode, memo = library_and_memo(accept)
    for _ in range(3):  # the first scrape learns the text, the next ones reuse it
        assert memo(registry) == encode(registry)
        requests.labels('/a"b').inc()
        level.labels("zero").set(-0.0)
        level.labels("minus zero").set(0.0)
        latency.labels("/y").observe(2.0)  # a new series in a known family


@pytest.mark.parametrize("accept", ACCEPTS[:2])
def test_timestamps_and_exemplars_are_left_to_the_library(accept):
    registry = CollectorRegistry()
    custom = FamiliesCollector()
    registry.register(custom)
    stamped = GaugeMetricFamily("stamped", "With a timestamp.", labels=["k"])
    stamped.add_metric(["v"], 1.0, timestamp=1700000000.5)
    counted = CounterMetricFamily("counted", "With an exemplar.", labels=["k"])
    counted.add_metric(["v"], 2.0)
    counted.samples[0] = counted.samples[0]._replace(
        exemplar=Exemplar({"trace_id": "abc"}, 1.0, 1700000000.0)
    )
    custom.families = [stamped, counted]
    encode, memo = library_and_memo(accept)
    assert b"1700000000" in encode(registry)
    for _ in range(2):
        assert memo(registry) == encode(registry)


def test_a_changed_help_text_or_value_is_never_served_from_the_memo():
    registry = CollectorRegistry()
    custom = FamiliesCollector()
    registry.register(custom)
    encode, memo = library_and_memo("")
    for help_text, value in [("First.", 1.0), ("First.", 2.0), ("Second.", 2.0), ("Second.", 2.0)]:
        family = GaugeMetricFamily("thing", help_text, labels=["k"])
        family.add_metric(["a"], value)
        custom.families = [family]
        assert memo(registry) == encode(registry)


def test_the_memo_is_bounded(monkeypatch):
    monkeypatch.setattr("enviro_sensor.metrics.exposition.MAX_KEPT", 50)
    registry = CollectorRegistry()
    gauge = Gauge("many", "Many series.", ["n"], registry=registry)
    encode, memo = library_and_memo("")
    for n in range(200):
        gauge.labels(str(n)).set(n + 0.5)
        assert memo(registry) == encode(registry)
    assert max(len(memo._prefixes), len(memo._values), len(memo._last)) <= 50


@pytest.fixture
def polled():
    app = PolledApp()
    yield app
    app.close()


@pytest.mark.parametrize("accept", ACCEPTS[:2])
def test_the_service_answers_the_library_bytes_scrape_after_scrape(polled, accept):
    encode, _ = choose_encoder(accept)
    for round_ in range(4):
        polled.poll()
        polled.client.get("/api/sensors/weather")
        polled.client.get(f"/nowhere/{round_}")
        served = polled.client.get("/metrics", headers={"Accept": accept}).get_data()
        # The scrape is observed once its answer is made, so the library's
        # text of the same moment differs in the /metrics route's own series.
        assert b"enviro_temperature_celsius" in served
        assert _without_metrics_route(served) == _without_metrics_route(encode(polled.registry))


def _without_metrics_route(text: bytes) -> list[bytes]:
    """The exposition without the /metrics route's request series (they move as it is served)."""
    return [line for line in text.splitlines() if b'route="/metrics"' not in line]


def test_a_reading_that_turns_stale_leaves_the_next_scrape_with_no_new_record(polled):
    polled.poll()
    assert ("enviro_temperature_celsius", "bme280") in _series(polled)
    # No poll: only time passes, past the weather group's freshness.
    polled.clock.advance(polled.collector.groups["weather"].freshness + 0.1)
    assert ("enviro_temperature_celsius", "bme280") not in _series(polled)
    polled.poll("weather")
    assert ("enviro_temperature_celsius", "bme280") in _series(polled)


def test_each_new_reading_shows_in_the_next_scrape(polled):
    seen = set()
    for _ in range(6):
        polled.clock.advance(600)  # the room's model moves on
        polled.poll("weather")
        published = polled.service.latest.view("bme280").values["temperature_celsius"]
        scraped = _value(polled, "enviro_temperature_celsius", "bme280")
        assert scraped == pytest.approx(published)
        seen.add(scraped)
    assert len(seen) > 1  # the readings moved, and every scrape followed them


def test_accept_headers_making_up_versions_do_not_grow_the_memos(polled):
    polled.poll()
    for n in range(3 * metrics_route.MAX_MEMOIZED_FORMATS):
        reply = polled.client.get(
            "/metrics", headers={"Accept": f"application/openmetrics-text; version=1.{n}.0"}
        )
        assert reply.status_code == 200
        assert reply.get_data().endswith(b"# EOF\n")
    assert len(polled.app.extensions["enviro_exposition"]) == metrics_route.MAX_MEMOIZED_FORMATS


def _series(polled) -> set[tuple[str, str | None]]:
    return {(s.name, s.labels.get("sensor")) for s in polled.metric_samples()}


def _value(polled, name: str, sensor: str) -> float | None:
    for sample in polled.metric_samples():
        if sample.name == name and sample.labels.get("sensor") == sensor:
            return sample.value
    return None


def test_the_request_histogram_writes_what_the_library_histogram_writes():
    library_registry, kept_registry = CollectorRegistry(), CollectorRegistry()
    library = Histogram(
        RequestDurations.NAME,
        RequestDurations.HELP,
        list(RequestDurations.LABELS),
        buckets=HTTP_BUCKETS,
        registry=library_registry,
    )
    kept = RequestDurations(HTTP_BUCKETS)
    kept_registry.register(kept)
    chooser = random.Random(3)
    # Bounds themselves, values either side of them, zero, and past the last.
    values = [
        *HTTP_BUCKETS,
        *(b * 0.999 for b in HTTP_BUCKETS),
        *(b * 1.001 for b in HTTP_BUCKETS),
        0.0,
        10.0,
    ]
    for count in range(1500):
        labels = (chooser.choice(["/a", "/b", "unmatched"]), chooser.choice(["GET", "POST"]), "200")
        value = chooser.choice([*values, chooser.random()])
        library.labels(*labels).observe(value)
        kept.observe(labels, value)
        if count % 100 == 0:
            assert generate_latest(kept_registry) == generate_latest(library_registry)
    assert generate_latest(kept_registry) == generate_latest(library_registry)


@pytest.mark.parametrize("kind", ["counter", "gauge"])
def test_kept_counters_and_gauges_write_what_the_library_metrics_write(kind):
    library_registry, kept_registry = CollectorRegistry(), CollectorRegistry()
    library_class = Counter if kind == "counter" else Gauge
    library = library_class(
        "enviro_thing", "Things, by sensor and reason.", ["sensor", "reason"], registry=library_registry
    )
    kept = KeptFamily(
        kind, "enviro_thing", "Things, by sensor and reason.", ["sensor", "reason"], kept_registry
    )
    chooser = random.Random(4)
    encoders = [library_and_memo(accept) for accept in ACCEPTS[:2]]
    for step in range(300):
        labels = (chooser.choice(["bme280", "ltr559", 'we"ird\\']), chooser.choice(["timeout", "io_error"]))
        action = chooser.choice(["start", "inc", "set"] if kind == "gauge" else ["start", "inc"])
        if action == "start":
            library.labels(*labels)
            kept.start(*labels)
        elif action == "inc":
            amount = chooser.choice([1.0, 0.5, 3])
            library.labels(*labels).inc(amount)
            kept.inc(labels, amount)
        else:
            value = chooser.choice([0.0, -0.0, 1.0, 1e9, -2.5, math.inf])
            library.labels(*labels).set(value)
            kept.set(labels, value)
        if step % 10 == 0:
            for encode, memo in encoders:
                assert memo(kept_registry) == encode(kept_registry) == encode(library_registry)
