"""Service-level Prometheus metrics, kept in a registry the app is given.

Sensor gauges belong to the collector; this module owns what describes the
service itself: build information and HTTP request durations.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Info, disable_created_metrics

from enviro_sensor.metrics.kept import RequestDurations

# The *_created series double every counter and histogram for a timestamp
# Prometheus does not use with the text format; node_exporter has none.
disable_created_metrics()

# Buckets for a service that answers from memory: most requests take about
# a millisecond, a slow one tells of trouble. Steps of five: every bucket is
# a line per route, method and status in every scrape (with the sum and
# count), and the histogram is most of /metrics, so twelve buckets made
# each scrape cost a third more for a resolution nobody alerts on.
HTTP_BUCKETS = (0.001, 0.005, 0.025, 0.1, 0.5, 2.5)

# Label values come from closed sets, whatever a client sends: every new
# value is a new series kept for the life of the process, so a client making
# up methods (or anything else) would grow /metrics and memory without end.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "other"


def method_label(method: str) -> str:
    """``method`` when it is a standard one the service may answer, else "other"."""
    return method if method in KNOWN_METHODS else OTHER


def status_label(status: int) -> str:
    """The status code as text; outside 100-599 (no such status) "other"."""
    return str(status) if 100 <= status <= 599 else OTHER


class ServiceMetrics:
    """The service's own metrics, registered on ``registry``."""

    def __init__(self, registry: CollectorRegistry, version: str, board: str) -> None:
        self.registry = registry
        build = Info(
            "enviro_build",
            "Version of enviro-sensor and the kind of board it drives (always 1).",
            registry=registry,
        )
        build.info({"version": version, "board": board})
        self.http_request_duration = RequestDurations(HTTP_BUCKETS)
        registry.register(self.http_request_duration)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Record one answered request.

        ``route`` must already be a route template (or "unmatched"); the
        method and status are folded into their closed sets here.
        """
        self.http_request_duration.observe((route, method_label(method), status_label(status)), seconds)
