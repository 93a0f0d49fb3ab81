"""The data directory: where everything kept across restarts lives (shared by several parts)."""

from __future__ import annotations

import dataclasses

from enviro_sensor.config import parsers
from enviro_sensor.config.declarations import Setting, declare


@dataclasses.dataclass(frozen=True)
class StorageOptions:
    #: None: no history, an in-memory outage buffer, nothing saved across restarts.
    data_dir: str | None


SETTINGS = declare(
    "storage",
    StorageOptions,
    Setting(
        "data_dir",
        "",
        parsers.optional_directory,
        "directory for data kept across restarts: the history database (`history.sqlite3`), the "
        "InfluxDB outage buffer, the remote nodes' last sequence numbers (`node-sequences.json`), the gas "
        "baseline and the air quality index's hours (`gas-baseline-<sensor>.json`, "
        "`air-quality-<sensor>.json`); empty for no history and an in-memory buffer. `scripts/run` sets "
        "`data/` in the checkout; the systemd unit and the container `/var/lib/enviro-sensor`",
    ),
    prefix="",
)
