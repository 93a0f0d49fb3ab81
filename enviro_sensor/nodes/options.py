"""The remote nodes' settings: the devices allowed to send, the port they send to, simulated ones."""

from __future__ import annotations

import dataclasses

from enviro_sensor.config import parsers
from enviro_sensor.config.declarations import Setting, declare
from enviro_sensor.nodes.devices import Device, load_devices


@dataclasses.dataclass(frozen=True)
class NodeOptions:
    #: The devices ENVIRO_NODES_FILE lists (the file itself is read at start-up).
    file: tuple[Device, ...]
    #: None: no listener (unless virtual nodes need one on loopback).
    port: int | None
    virtual: int
    #: Where the listener binds, as the HTTP side does.
    host: str
    #: Where the last sequence numbers are kept across restarts.
    data_dir: str | None
    #: The virtual nodes' readings follow the virtual board's seed.
    virtual_seed: int


SETTINGS = declare(
    "nodes",
    NodeOptions,
    Setting(
        "file",
        "",
        parsers.Parser(load_devices, "a TOML file of devices, or empty for none"),
        "TOML file of the remote nodes allowed to send readings: per `[[device]]` its id, name, "
        "location, key and measurements ([docs/nodes.md](docs/nodes.md)); empty for none",
    ),
    Setting(
        "port",
        "",
        parsers.optional_port,
        "TCP port the remote nodes' binary packets are received on ([docs/nodes.md](docs/nodes.md)), "
        "e.g. `8089`; empty: off",
    ),
    Setting(
        "virtual",
        "0",
        parsers.integer(0, 2000),
        "simulated battery nodes sending to the listener every 10 s (devices made up for them; "
        "on loopback when `ENVIRO_NODES_PORT` is empty); 0 for none",
        env="ENVIRO_VIRTUAL_NODES",
    ),
    shared=("host", "data_dir", "virtual_seed"),
)
