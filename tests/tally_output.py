"""An output that exists only in the tests: it counts readings, and says so every N.

Everything a new output needs, in one module and nothing else: its own
setting (``ENVIRO_TALLY_EVERY``), declared beside it, and the factory the
output table calls with its options alone.
"""

from __future__ import annotations

import dataclasses

from enviro_sensor.config import parsers
from enviro_sensor.config.declarations import Setting, declare
from enviro_sensor.outputs import registry
from enviro_sensor.outputs.base import Output, OutputContext

MODULE = __name__


@dataclasses.dataclass(frozen=True)
class TallyOptions:
    every: int


SETTINGS = declare(
    "tally",
    TallyOptions,
    Setting("every", "10", parsers.integer(1, 100), "readings between two tally lines (tests only)"),
)

#: Every options object the factory was handed, in order.
handed: list[object] = []


class Tally(Output):
    name = "tally"

    def __init__(self, every: int) -> None:
        self.every = every
        self.readings = 0
        self.lines: list[str] = []

    def handle_reading(self, reading) -> None:
        self.readings += 1
        if self.readings % self.every == 0:
            self.lines.append(f"{self.readings} readings")

    def handle_status(self, change) -> None:
        pass


def from_context(context: OutputContext, options: TallyOptions) -> Tally:
    handed.append(options)
    return Tally(options.every)


def register() -> None:
    handed.clear()
    registry.register_output(MODULE)


def unregister() -> None:
    registry.unregister_output(MODULE)
