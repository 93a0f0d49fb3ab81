"""A polled app that keeps a history in a test's directory."""

from __future__ import annotations

from enviro_sensor.outputs.history import HistoryOutput
from tests.sensor_support import PolledApp

FLUSH = 60.0


def history_app(data_dir, **settings) -> PolledApp:
    return PolledApp(data_dir=str(data_dir), history_flush=FLUSH, **settings)


def history_output(polled: PolledApp) -> HistoryOutput:
    output = polled.service.outputs.output("history")
    assert isinstance(output, HistoryOutput)
    return output


def poll_for(polled: PolledApp, seconds: float, *groups: str) -> None:
    """Poll every second of ``seconds`` of the test's clock (a poll moves it 0.2 s per group)."""
    for _ in range(int(seconds)):
        polled.poll(*groups)
        polled.clock.advance(max(0.0, 1.0 - 0.2 * max(1, len(groups))))
