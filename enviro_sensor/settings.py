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
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from enviro_sensor.nodes.devices import Device, load_devices
from enviro_sensor.sensors import registry
from enviro_sensor.sensors.calibration import (
    Calibration,
    check_calibration,
    check_room_reference,
    parse_calibration,
)
from enviro_sensor.sensors.config import I2CSensorSpec, configured_sensors, parse_i2c_sensors
from enviro_sensor.sensors.duty import DutyCycle, parse_duty


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


def _optional_name(text: str) -> str | None:
    """A sensor's name, or None when empty (checked against the sensors later)."""
    return text.strip().lower() or None


def _broker_url(text: str) -> str | None:
    """``mqtt://[user:pass@]host[:port]`` or ``mqtts://...``; empty for none."""
    value = text.strip()
    if not value:
        return None
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"expected mqtt://host[:port] or mqtts://host[:port], got scheme {parts.scheme!r}")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number or out of range
    except ValueError:
        raise ValueError("has a port that is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError("names no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("expected no path or query after the host and port")
    return value


def _topic_prefix(text: str) -> str:
    value = text.strip().strip("/")
    if not value or any(c in value for c in "#+") or any(c.isspace() for c in value):
        raise ValueError(f"expected a topic such as enviro (no spaces, # or +), got {text!r}")
    return value


def _http_url(text: str) -> str | None:
    value = text.strip()
    if not value:
        return None
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected the server's base URL, e.g. http://host:8086, got {text!r}")
    return value


def _sensor_id(text: str) -> str | None:
    value = text.strip()
    if value and (any(c.isspace() for c in value) or len(value) > 64):
        raise ValueError(f"expected an id such as raspi-00000000abcdef12, got {text!r}")
    return value or None


def _optional_text(text: str) -> str | None:
    return text.strip() or None


def _optional_directory(text: str) -> str | None:
    value = text.strip()
    if value and os.path.exists(value) and not os.path.isdir(value):
        raise ValueError(f"is not a directory: {value}")
    return value or None


def _optional_file(text: str) -> str | None:
    value = text.strip()
    if value and not os.path.isfile(value):
        raise ValueError(f"no such file: {value}")
    return value or None


def _optional_secret(text: str) -> str | None:
    value = text.strip()
    if text and not value:
        # Set, yet blank: most likely a template or a quoting slip. Reading
        # it as "no token" would silently leave the API open.
        raise ValueError("is only white space; set a token, or leave the variable empty for none")
    return value or None


def _optional_port(text: str) -> int | None:
    if not text.strip():
        return None
    return _integer(1, 65535)(text)


@dataclasses.dataclass(frozen=True)
class Setting:
    """One environment variable: its field name, default, parser and meaning."""

    field: str
    default: str
    parse: Callable[[str], Any]
    description: str
    #: Masked wherever the value is shown (``enviro-sensor settings``).
    secret: bool = False

    @property
    def env(self) -> str:
        return "ENVIRO_" + self.field.upper()

    @property
    def accepts(self) -> str:
        """What the parser takes, in words (its ``accepts`` attribute)."""
        return str(getattr(self.parse, "accepts", ""))


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
        secret=True,
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
        "particulates_duty",
        "",
        parse_duty,
        "PMS5003 duty cycle `on/period` in seconds, e.g. `30/300`: woken, fan run `on` seconds, one "
        "reading, asleep until `period` seconds have passed since waking; empty: always on",
    ),
    Setting(
        "particulates_sleep",
        "pin",
        _choice("pin", "serial"),
        "how the PMS5003 is put to sleep and woken: `pin` (its SET pin, GPIO 22) or `serial` "
        "(the data manual's sleep/wake command)",
    ),
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
        "gas_baseline_days",
        "7",
        _number(1, 60),
        "days of hourly medians the MICS6814's clean-air baseline (R0 of `*_ratio`) is taken from; "
        "ratios appear after 24 hours of learning (kept in `ENVIRO_DATA_DIR`)",
    ),
    Setting(
        "temperature_factor",
        "2.25",
        _number(0.5, 100),
        "CPU-heat compensation factor: lower means a stronger correction (vendor examples: 2.25)",
    ),
    Setting(
        "calibration",
        "",
        parse_calibration,
        "per-sensor corrections applied before validation, `sensor.field=adjustment` comma separated: "
        "an offset (`bme280.temperature_celsius=-1.5`), a factor (`*1.02`) or both (`*1.02+0.5`)",
    ),
    Setting(
        "room_reference",
        "",
        _optional_name,
        "a sensor away from the CPU's heat (e.g. `aht10`, `scd41`) whose temperature and humidity "
        "become the BME280's compensated values; empty: estimate them from the CPU temperature",
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
    Setting(
        "lcd_mode",
        "readings",
        _choice("readings", "messages"),
        "what the LCD shows between posted messages: `readings` (pages of readings with a chart) "
        "or `messages` (the start-up screen and posted messages only)",
    ),
    Setting(
        "lcd_page_seconds",
        "10",
        _seconds(2, 3600),
        "seconds each readings page is shown before the next (a tap on the proximity sensor turns it sooner)",
    ),
    Setting(
        "lcd_tap_proximity",
        "1000",
        _integer(1, 2047),
        "LTR559 proximity count (0-2047) a hand over the sensor must rise past to turn the readings page",
    ),
    Setting(
        "mqtt_url",
        "",
        _broker_url,
        "MQTT broker to publish to with Home Assistant discovery, `mqtt://[user:pass@]host[:1883]` "
        "or `mqtts://...`; empty for none",
    ),
    Setting("mqtt_prefix", "enviro", _topic_prefix, "first level of the MQTT state and availability topics"),
    Setting("mqtt_ca", "", _optional_file, "CA certificate file for `mqtts://` (default: the system's CAs)"),
    Setting(
        "export_dir",
        "",
        _optional_directory,
        "directory for the latest reading of each sensor as `<sensor>.json` and `enviro.prom` "
        "for node_exporter's textfile collector (best on tmpfs, e.g. /run/enviro-sensor); empty for none",
    ),
    Setting(
        "influx_url",
        "",
        _http_url,
        "InfluxDB (or compatible) server's base URL, e.g. `http://influx:8086`, to write every reading to; "
        "empty for none",
    ),
    Setting("influx_db", "", _optional_text, "database to write to through the v1 API (`/write?db=`)"),
    Setting("influx_org", "", _optional_text, "organisation, for the v2 API (`/api/v2/write`)"),
    Setting("influx_bucket", "", _optional_text, "bucket, for the v2 API"),
    Setting("influx_token", "", _optional_text, "API token, for the v2 API", secret=True),
    Setting(
        "data_dir",
        "",
        _optional_directory,
        "directory for data kept across restarts: the history database (`history.sqlite3`), the "
        "InfluxDB outage buffer, the remote nodes' last sequence numbers (`node-sequences.json`), the gas baseline and the air quality index's hours "
        "(`gas-baseline-<sensor>.json`, `air-quality-<sensor>.json`); empty for no history and an in-memory buffer. `scripts/run` sets `data/` "
        "in the checkout; the systemd unit and the container `/var/lib/enviro-sensor`",
    ),
    Setting(
        "sensor_community_id",
        "",
        _sensor_id,
        "sensor id registered at sensor.community (`raspi-` and the Pi's serial number) to post "
        "particulates and weather to every 145 s; empty for none",
    ),
    Setting(
        "nodes_file",
        "",
        load_devices,
        "TOML file of the remote nodes allowed to send readings: per `[[device]]` its id, name, "
        "location, key and measurements ([docs/nodes.md](docs/nodes.md)); empty for none",
    ),
    Setting(
        "nodes_port",
        "",
        _optional_port,
        "TCP port the remote nodes' binary packets are received on ([docs/nodes.md](docs/nodes.md)), "
        "e.g. `8089`; empty: off",
    ),
    Setting(
        "virtual_nodes",
        "0",
        _integer(0, 2000),
        "simulated battery nodes sending to the listener every 10 s (devices made up for them; "
        "on loopback when `ENVIRO_NODES_PORT` is empty); 0 for none",
    ),
    Setting(
        "sensor_community_url",
        "https://api.sensor.community/v1/push-sensor-data/",
        _http_url,
        "sensor.community's push API",
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


def _check_sensor_names(values: dict[str, Any]) -> None:
    """Settings that name sensors must name configured ones, with fields they have."""
    fields = {
        sensor.name: tuple(field.key for field in sensor.fields)
        for sensor in configured_sensors(values["i2c_sensors"])
    }
    for name, check in (("calibration", check_calibration), ("room_reference", check_room_reference)):
        try:
            check(values[name], fields)
        except ValueError as err:
            raise SettingsError(f"ENVIRO_{name.upper()}: {err}") from None


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
    #: The PMS5003's duty cycle (``ENVIRO_PARTICULATES_DUTY``); None: always on.
    particulates_duty: DutyCycle | None
    particulates_sleep: str
    i2c_sensors: tuple[I2CSensorSpec, ...]
    groups: tuple[str, ...]
    read_timeout: float
    gas_warmup: float
    #: Days of hourly medians the gas baseline is learned from (retrievers.gas_baseline).
    gas_baseline_days: float
    temperature_factor: float
    #: Adjustments by sensor name and field key (``ENVIRO_CALIBRATION``).
    calibration: Calibration
    #: The sensor whose readings stand for the room (``ENVIRO_ROOM_REFERENCE``).
    room_reference: str | None
    history_flush: float
    history_raw_days: float
    history_days: float
    history_max_mb: float
    lcd: str
    lcd_mode: str
    lcd_page_seconds: float
    lcd_tap_proximity: int
    mqtt_url: str | None
    mqtt_prefix: str
    mqtt_ca: str | None
    export_dir: str | None
    influx_url: str | None
    influx_db: str | None
    influx_org: str | None
    influx_bucket: str | None
    influx_token: str | None
    data_dir: str | None
    sensor_community_id: str | None
    #: The devices ENVIRO_NODES_FILE lists (the file itself is read at start-up).
    nodes_file: tuple[Device, ...]
    nodes_port: int | None
    virtual_nodes: int
    sensor_community_url: str
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
    _check_sensor_names(values)
    if (
        values["influx_url"]
        and not values["influx_db"]
        and not (values["influx_org"] and values["influx_bucket"])
    ):
        raise SettingsError(
            "ENVIRO_INFLUX_URL: needs ENVIRO_INFLUX_DB (v1 API) or ENVIRO_INFLUX_ORG and ENVIRO_INFLUX_BUCKET (v2)"
        )
    intervals = {s.field.removesuffix("_interval"): values.pop(s.field) for s in interval_settings()}
    intervals.update(overrides.get("intervals", {}))
    return Settings(**values, intervals=types.MappingProxyType(intervals))
