"""The table of sensor kinds and groups: what each part is, declared once.

A chip module calls ``register_kind`` with everything about its part: its
name, description, fields (unit-named keys, datasheet ranges, metric names,
what Home Assistant needs), how to read it, its default group, where it sits
on the bus and which emulated chip serves it on the virtual board. Settings,
groups, routes, OpenAPI schemas, metrics and outputs are derived from this
table, as node_exporter derives its collectors from the ones that registered.

Built-in kinds live in the modules named by BUILTIN_MODULES and are
imported the first time the table is read; a test or a plug-in module may
register more before the service is built.
"""

from __future__ import annotations

import dataclasses
import importlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from enviro_sensor.config.declarations import Declaration
from enviro_sensor.sensors.base import COMMON_ERROR_REASONS, Field

if TYPE_CHECKING:
    from enviro_sensor.clocks import Clock
    from enviro_sensor.sensors.base import SensorReader
    from enviro_sensor.sensors.config import Sensor
    from enviro_sensor.sensors.derivation import Derivation

# One module per chip; each registers its kind when imported.
BUILTIN_MODULES = (
    "enviro_sensor.sensors.bme280",
    "enviro_sensor.sensors.ltr559",
    "enviro_sensor.sensors.mics6814",
    "enviro_sensor.sensors.pms5003",
    "enviro_sensor.sensors.aht10",
    "enviro_sensor.sensors.bmp280",
    "enviro_sensor.sensors.scd4x",
    "enviro_sensor.sensors.sgp40",
    "enviro_sensor.sensors.bme680",
    "enviro_sensor.sensors.noise",
)

# Seconds between polls of a group that declares no interval of its own.
DEFAULT_INTERVAL = 5.0

# Both are called with the configured sensor, its kind's options (None for a
# kind that declares no settings) and the clock.
ReaderFactory = Callable[["Sensor", Any, "Clock"], "SensorReader"]
DerivationFactory = Callable[["Sensor", Any, "Clock"], "Derivation"]


@dataclasses.dataclass(frozen=True)
class GroupSpec:
    """Sensors polled on one schedule and answered under one route."""

    name: str
    description: str
    #: Seconds between polls unless ``ENVIRO_<NAME>_INTERVAL`` says otherwise.
    interval: float = DEFAULT_INTERVAL
    #: More route names for the group (the original service's "pollution").
    aliases: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class SensorKind:
    """One kind of part, everything the service needs to know about it."""

    #: The part's name, used in ENVIRO_I2C_SENSORS and as the default sensor name.
    kind: str
    #: What the part is, for people reading /api/sensors.
    description: str
    fields: tuple[Field, ...]
    #: The group its sensors are polled and answered in.
    group: str
    #: Builds the reader for one configured sensor of this kind.
    reader: ReaderFactory
    #: The part's I2C address on the board, or its usual one on a breakout;
    #: None for parts that are not on I2C (the PMS5003's serial port).
    address: int | None = None
    #: Part of the Enviro+ itself: always configured, at ``address``.
    on_board: bool = False
    #: The emulated chip that serves it on the virtual board: a callable
    #: ``(board, address) -> chip`` or its "module:name" (imported on use).
    emulation: str | Callable[..., Any] | None = None
    #: Every reason a read can fail with (the read error counters' labels).
    error_reasons: tuple[str, ...] = COMMON_ERROR_REASONS
    #: Builds what derives values from the sensor's own history (the gas
    #: baseline, the air quality index: retrievers.derivation), if anything.
    derivation: DerivationFactory | None = None
    #: The kind's own settings (``config.declarations.declare``), if it has any:
    #: its readers and derivations are handed the options they make, and no others.
    settings: Declaration[Any] | None = None
    #: Seconds between the part's readings when a duty cycle in its options sets
    #: them (the PMS5003's); 0 for a part read every poll.
    reading_period: Callable[[Any], float] | None = None
    #: What the part needs of the Pi besides its I2C address, for ``enviro-sensor
    #: check``: any of "serial", "gpio", "spi", "microphone".
    interfaces: tuple[str, ...] = ()
    #: What the part does while its group is paused, for the API docs ("the
    #: PMS5003's fan stops"); None for a part that idles by itself.
    paused_note: str | None = None

    @property
    def on_i2c(self) -> bool:
        """True for a part on I2C, which ENVIRO_I2C_SENSORS may list."""
        return self.address is not None


_kinds: dict[str, SensorKind] = {}
_groups: dict[str, GroupSpec] = {}
#: Groups declared with register_group, in the order of their declaration.
_declared: dict[str, None] = {}
_lock = threading.RLock()
_builtins_loaded = False


def register_group(spec: GroupSpec) -> GroupSpec:
    """Declare a group (its description, default interval and route aliases)."""
    with _lock:
        _groups[spec.name] = spec
        _declared.setdefault(spec.name, None)
    return spec


def _builtin_rank(kind: SensorKind) -> int:
    """Where a kind's module stands in BUILTIN_MODULES; kinds from elsewhere come after."""
    module = getattr(kind.reader, "__module__", "")
    return BUILTIN_MODULES.index(module) if module in BUILTIN_MODULES else len(BUILTIN_MODULES)


def register_kind(kind: SensorKind) -> SensorKind:
    """Add a kind to the table; a group it names is created if nobody declared it."""
    if not kind.kind.isidentifier() or kind.kind != kind.kind.lower():
        raise ValueError(f"a sensor kind is a lower-case identifier, got {kind.kind!r}")
    keys = [field.key for field in kind.fields]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{kind.kind}: two fields share a key")
    # Two fields a person cannot tell apart (in Home Assistant, on the
    # dashboard, in a CSV header) are a declaration mistake.
    labels = [field.label.strip() for field in kind.fields]
    if "" in labels or len(set(labels)) != len(labels):
        raise ValueError(f"{kind.kind}: every field needs a label of its own")
    with _lock:
        _kinds[kind.kind] = kind
        if kind.group not in _groups:
            _groups[kind.group] = GroupSpec(kind.group, f"{kind.description}.")
    return kind


def unregister_kind(name: str) -> None:
    """Remove a kind (tests that registered one clean up with this)."""
    with _lock:
        kind = _kinds.pop(name, None)
        if kind is not None and not any(k.group == kind.group for k in _kinds.values()):
            _groups.pop(kind.group, None)


def _load_builtins() -> None:
    global _builtins_loaded
    with _lock:
        if _builtins_loaded:
            return
        _builtins_loaded = True
        importlib.import_module("enviro_sensor.sensors.groups")
        for module in BUILTIN_MODULES:
            importlib.import_module(module)


def kinds() -> dict[str, SensorKind]:
    """Every registered kind by name: built-in ones first, in BUILTIN_MODULES' order.

    The order is the table's, not the order of import: a test or a tool that
    imports one chip's module first changes nothing a user sees.
    """
    _load_builtins()
    with _lock:
        ordered = sorted(_kinds.values(), key=_builtin_rank)  # stable: registration order within a rank
        return {kind.kind: kind for kind in ordered}


def groups() -> dict[str, GroupSpec]:
    """Every group by name: declared ones in the order of declaration, then those kinds made."""
    _load_builtins()
    with _lock:
        names = [
            *(name for name in _declared if name in _groups),
            *(n for n in _groups if n not in _declared),
        ]
        return {name: _groups[name] for name in names}
