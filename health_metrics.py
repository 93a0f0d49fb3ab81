"""Each sensor's health, as the collector sees it, after node_exporter's pattern.

The collector reports on itself, as node_exporter's scrape collector does:
whether each sensor's last read succeeded, when it last gave a valid
reading, how long its last read took, and its errors by reason. The
measurements themselves reach /metrics through the Prometheus output.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge


def error_reason(err: BaseException) -> str:
    """The reason label for an exception a driver raised."""
    if isinstance(err, TimeoutError):
        return "timeout"
    if isinstance(err, OSError):
        return "io_error"
    return "driver_error"


class SensorHealth:
    """Counters and gauges the collector updates as it polls."""

    def __init__(self, registry: CollectorRegistry, sampling_note: str = "") -> None:
        self.read_errors = Counter(
            "enviro_sensor_read_errors",
            "Failed attempts to set up or read a sensor, by reason.",
            ["sensor", "reason"],
            registry=registry,
        )
        self.rejected_readings = Counter(
            "enviro_readings_rejected",
            "Values a sensor returned that failed validation (type, finite, datasheet range) "
            "and were not published.",
            ["sensor", "field", "reason"],
            registry=registry,
        )
        self.up = Gauge(
            "enviro_sensor_up",
            "1 if the sensor's last read succeeded, 0 if it failed." + sampling_note,
            ["sensor"],
            registry=registry,
        )
        self.last_success = Gauge(
            "enviro_sensor_last_success_timestamp_seconds",
            "Unix time of the sensor's last valid reading.",
            ["sensor"],
            registry=registry,
        )
        self.duration = Gauge(
            "enviro_sensor_read_duration_seconds",
            "Time the sensor's last read took.",
            ["sensor"],
            registry=registry,
        )

    def track(self, sensor: str, error_reasons: Iterable[str]) -> None:
        """Start a sensor's series: up at 0, every error reason at 0 (so rate() sees the first)."""
        self.up.labels(sensor).set(0)
        for reason in error_reasons:
            self.read_errors.labels(sensor, reason)

    def read_error(self, sensor: str, reason: str) -> None:
        self.read_errors.labels(sensor, reason).inc()

    def rejected(self, sensor: str, field: str, reason: str) -> None:
        self.rejected_readings.labels(sensor, field, reason).inc()

    def attempt(self, sensor: str, up: bool, duration: float | None) -> None:
        """A read finished (or failed) after ``duration`` seconds."""
        self.up.labels(sensor).set(1 if up else 0)
        if duration is not None:
            self.duration.labels(sensor).set(duration)

    def success(self, sensor: str, wall_time: float) -> None:
        self.last_success.labels(sensor).set(wall_time)
