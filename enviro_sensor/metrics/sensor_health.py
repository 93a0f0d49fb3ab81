"""Each sensor's health, as the collector sees it, after node_exporter's pattern.

The collector reports on itself, as node_exporter's scrape collector does:
whether each sensor's last read succeeded, when it last gave a valid
reading, how long its last read took, and its errors by reason. The
measurements themselves reach /metrics through the Prometheus output.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry

from enviro_sensor.metrics.kept import KeptFamily


def error_reason(err: BaseException) -> str:
    """The reason label for an exception a driver raised."""
    if isinstance(err, TimeoutError):
        return "timeout"
    if isinstance(err, OSError):
        return "io_error"
    return "driver_error"


class SensorHealth:
    """Counters and gauges the collector updates as it polls (kept between scrapes)."""

    def __init__(self, registry: CollectorRegistry, sampling_note: str = "") -> None:
        self.read_errors = KeptFamily(
            "counter",
            "enviro_sensor_read_errors",
            "Failed attempts to set up or read a sensor, by reason.",
            ["sensor", "reason"],
            registry,
        )
        self.rejected_readings = KeptFamily(
            "counter",
            "enviro_readings_rejected",
            "Values a sensor returned that failed validation (type, finite, datasheet range) "
            "and were not published.",
            ["sensor", "field", "reason"],
            registry,
        )
        self.up = KeptFamily(
            "gauge",
            "enviro_sensor_up",
            "1 if the sensor's last read succeeded, 0 if it failed." + sampling_note,
            ["sensor"],
            registry,
        )
        self.last_success = KeptFamily(
            "gauge",
            "enviro_sensor_last_success_timestamp_seconds",
            "Unix time of the sensor's last valid reading.",
            ["sensor"],
            registry,
        )
        self.duration = KeptFamily(
            "gauge",
            "enviro_sensor_read_duration_seconds",
            "Time the sensor's last read took.",
            ["sensor"],
            registry,
        )

    def track(self, sensor: str, error_reasons: Iterable[str]) -> None:
        """Start a sensor's series: up at 0, every error reason at 0 (so rate() sees the first)."""
        self.up.set((sensor,), 0)
        for reason in error_reasons:
            self.read_errors.start(sensor, reason)

    def read_error(self, sensor: str, reason: str) -> None:
        self.read_errors.inc((sensor, reason))

    def rejected(self, sensor: str, field: str, reason: str) -> None:
        self.rejected_readings.inc((sensor, field, reason))

    def attempt(self, sensor: str, up: bool, duration: float | None) -> None:
        """A read finished (or failed) after ``duration`` seconds."""
        self.up.set((sensor,), 1 if up else 0)
        if duration is not None:
            self.duration.set((sensor,), duration)

    def success(self, sensor: str, wall_time: float) -> None:
        self.last_success.set((sensor,), wall_time)
