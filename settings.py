"""Service settings, read from ``ENVIRO_*`` environment variables.

Every setting has a default, a parser that rejects bad values with a message
naming the variable, and a one-line description that the README's table
repeats (a test keeps the two in step). Each sensor group declared in
``retrievers`` adds its own ``ENVIRO_<GROUP>_INTERVAL``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import types
from collections.abc import Callable, Mapping
from typing import Any

from retrievers import registry
from retrievers.config import I2CSensorSpec, parse_i2c_sensors


class SettingsError(ValueError):
    """A setting has a value the service cannot use."""


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip(), 10)
        except ValueError:
            raise ValueError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise ValueError(f"expected a number from {low} to {high}, got {value}")
        return value

    return parse


def _seconds(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise ValueError(f"expected a number of seconds, got {text!r}") from None
        if not low <= value <= high:  # also rejects nan
            raise ValueError(f"expected {low:g} to {high:g} seconds, got {text.strip()}")
        return value

    return parse


def _number(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise ValueError(f"expected a number, got {text!r}") from None
        if not low <= value <= high:
            raise ValueError(f"expected a number from {low:g} to {high:g}, got {text.strip()}")
        return value

    return parse


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {text!r}")
        return value

    return parse


def _host(text: str) -> str:
    value = text.strip()
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        if not value or any(c.isspace() for c in value):
            raise ValueError(f"expected an IP address or host name, got {text!r}") from None
    return value


def _groups(text: str) -> tuple[str, ...]:
    known = tuple(registry.groups())
    if text.strip().lower() == "all":
        return known
    names = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown group {unknown[0]!r} (known: {', '.join(known)})")
    return names


def _device_faults(text: str) -> Mapping[str, str]:
    """``device=fault`` pairs; which devices and faults exist is the virtual board's to check."""
    faults = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        device, sep, fault = (part.strip().lower() for part in item.partition("="))
        if not sep or not device or not fault:
            raise ValueError(f"expected device=fault, got {item!r}")
        faults[device] = fault
    return types.MappingProxyType(faults)


def _text(text: str) -> str:
    return text.strip()


def _optional_secret(text: str) -> str | None:
    value = text.strip()
    if text and not value:
        # Set, yet blank: most likely a template or a quoting slip. Reading
        # it as "no token" would silently leave the API open.
        raise ValueError("is only white space; set a token, or leave the variable empty for none")
    return value or None


@dataclasses.dataclass(frozen=True)
class Setting:
    """One environment variable: its field name, default, parser and meaning."""

    field: str
    default: str
    parse: Callable[[str], Any]
    description: str

    @property
    def env(self) -> str:
        return "ENVIRO_" + self.field.upper()


# The table the README documents. Defaults are given as the text a user would
# write in the environment, so the README can show them verbatim.
SETTINGS: tuple[Setting, ...] = (
    Setting("host", "0.0.0.0", _host, "address gunicorn listens on"),
    Setting("port", "8000", _integer(1, 65535), "TCP port gunicorn listens on"),
    Setting("threads", "4", _integer(1, 64), "request threads in the single gunicorn worker"),
    Setting(
        "board",
        "auto",
        _choice("auto", "real", "virtual"),
        "`auto` uses the real board when /dev/i2c-1 exists, else the virtual one",
    ),
    Setting(
        "log_level",
        "info",
        _choice("debug", "info", "warning", "error"),
        "log verbosity: debug, info, warning, error",
    ),
    Setting(
        "max_body_bytes",
        "16384",
        _integer(64, 10_485_760),
        "largest request body accepted; larger ones get 413",
    ),
    Setting(
        "request_timeout",
        "10",
        _seconds(0.5, 300),
        "seconds a client has to send a whole request; a slower or silent connection is closed",
    ),
    Setting(
        "trust_proxy",
        "0",
        _integer(0, 10),
        "reverse proxies in front whose `X-Forwarded-For/-Proto/-Host/-Prefix` headers are believed; 0 for none",
    ),
    Setting(
        "api_token",
        "",
        _optional_secret,
        "when set, POST /api/lcd and the pause/resume posts need `Authorization: Bearer <token>`",
    ),
    Setting(
        "virtual_seed",
        "1",
        _integer(0, 2**32 - 1),
        "seed of the virtual board's environment model (same seed, same readings)",
    ),
    Setting(
        "virtual_faults",
        "",
        _device_faults,
        "faults to inject on the virtual board, e.g. `bme280=absent,pms5003=corrupt`",
    ),
    Setting("serial_device", "/dev/serial0", _text, "serial port of the PMS5003 on the real board"),
    Setting(
        "i2c_sensors",
        "aht10@0x38,bmp280@0x77",
        parse_i2c_sensors,
        "extra I2C sensors, `kind@address[:bus]`, comma separated; empty for none",
    ),
    Setting(
        "groups",
        "all",
        _groups,
        "sensor groups to poll, comma separated, or `all`; the others are reported as disabled "
        "(e.g. no PMS5003 attached)",
    ),
    Setting(
        "read_timeout",
        "10",
        _seconds(0.5, 600),
        "a driver call taking longer than this is abandoned and counted as an error",
    ),
    Setting(
        "gas_warmup",
        "600",
        _seconds(0, 86400),
        "seconds after the gas heater switches on during which readings are reported as warming up",
    ),
    Setting(
        "temperature_factor",
        "2.25",
        _number(0.5, 100),
        "CPU-heat compensation factor: lower means a stronger correction (vendor examples: 2.25)",
    ),
    Setting(
        "data_dir",
        "",
        _text,
        "directory of the history database (`history.sqlite3`); empty for no history. "
        "`scripts/run` sets `data/` in the checkout; the systemd unit and the container `/var/lib/enviro-sensor`",
    ),
    Setting(
        "history_flush",
        "60",
        _seconds(1, 3600),
        "seconds between batched writes of the history (a crash loses at most one batch)",
    ),
    Setting(
        "history_raw_days",
        "7",
        _number(0.01, 3650),
        "days every raw reading is kept in the history",
    ),
    Setting(
        "history_days",
        "400",
        _number(1, 36500),
        "days the per-5-minute minimum, mean and maximum are kept in the history",
    ),
    Setting(
        "history_max_mb",
        "1000",
        _number(1, 1_000_000),
        "size the history file (with its write-ahead log) never exceeds, in MB; the oldest days go first",
    ),
    Setting(
        "lcd",
        "on",
        _choice("on", "off"),
        "`off` leaves the LCD alone (no start-up screen, POST /api/lcd answers 503)",
    ),
)

INTERVAL_LIMITS = (0.1, 3600.0)


def interval_settings() -> tuple[Setting, ...]:
    """``ENVIRO_<GROUP>_INTERVAL`` for every declared group, with the group's default."""
    kinds = registry.kinds()
    settings = []
    for name, group in registry.groups().items():
        parts = [kind.kind.upper() for kind in kinds.values() if kind.group == name]
        what = f" ({'/'.join(parts)})" if parts and name != "i2c" else ""
        settings.append(
            Setting(
                f"{name}_interval",
                f"{group.interval:g}",
                _seconds(*INTERVAL_LIMITS),
                f"seconds between polls of the {name} group{what}",
            )
        )
    return tuple(settings)


def all_settings() -> tuple[Setting, ...]:
    """Every setting the service reads, the group intervals after the others."""
    return (*SETTINGS, *interval_settings())


@dataclasses.dataclass(frozen=True)
class Settings:
    """Parsed settings, one attribute per ``ENVIRO_*`` variable (intervals by group)."""

    host: str
    port: int
    threads: int
    board: str
    log_level: str
    max_body_bytes: int
    request_timeout: float
    trust_proxy: int
    api_token: str | None
    virtual_seed: int
    virtual_faults: Mapping[str, str]
    serial_device: str
    i2c_sensors: tuple[I2CSensorSpec, ...]
    groups: tuple[str, ...]
    read_timeout: float
    gas_warmup: float
    temperature_factor: float
    data_dir: str
    history_flush: float
    history_raw_days: float
    history_days: float
    history_max_mb: float
    lcd: str
    #: Seconds between polls, by group name (``ENVIRO_<GROUP>_INTERVAL``).
    intervals: Mapping[str, float]


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Parse settings from ``environ`` (default: ``os.environ``).

    ``overrides`` holds already-parsed values by field name, and group
    intervals as ``<group>_interval`` (tests use it). Raises SettingsError
    with one line naming the variable and the problem.
    """
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    every = all_settings()
    known = {s.field for s in every} | {"intervals"}
    unknown = set(overrides) - known
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for setting in every:
        if setting.field in overrides:
            values[setting.field] = overrides[setting.field]
            continue
        raw = environ.get(setting.env, setting.default)
        try:
            values[setting.field] = setting.parse(raw)
        except ValueError as err:
            raise SettingsError(f"{setting.env}: {err}") from None
    intervals = {s.field.removesuffix("_interval"): values.pop(s.field) for s in interval_settings()}
    intervals.update(overrides.get("intervals", {}))
    return Settings(**values, intervals=types.MappingProxyType(intervals))
