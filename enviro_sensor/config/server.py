"""The HTTP side's settings: where gunicorn listens, its limits, and the API token (shared: host, port)."""

from __future__ import annotations

import dataclasses

from enviro_sensor.config import parsers
from enviro_sensor.config.declarations import Setting, declare


@dataclasses.dataclass(frozen=True)
class ServerOptions:
    host: str
    port: int
    threads: int
    log_level: str
    max_body_bytes: int
    request_timeout: float
    trust_proxy: int
    #: None: the state-changing posts are open (but safe from cross-site requests).
    api_token: str | None


SETTINGS = declare(
    "server",
    ServerOptions,
    Setting("host", "0.0.0.0", parsers.host, "address gunicorn listens on"),
    Setting("port", "8000", parsers.integer(1, 65535), "TCP port gunicorn listens on"),
    Setting("threads", "4", parsers.integer(1, 64), "request threads in the single gunicorn worker"),
    Setting(
        "log_level",
        "info",
        parsers.choice("debug", "info", "warning", "error"),
        "log verbosity: debug, info, warning, error",
    ),
    Setting(
        "max_body_bytes",
        "16384",
        parsers.integer(64, 10_485_760, "bytes"),
        "largest request body accepted; larger ones get 413",
    ),
    Setting(
        "request_timeout",
        "10",
        parsers.seconds(0.5, 300),
        "seconds a client has to send a whole request; a slower or silent connection is closed",
    ),
    Setting(
        "trust_proxy",
        "0",
        parsers.integer(0, 10),
        "reverse proxies in front whose `X-Forwarded-For/-Proto/-Host/-Prefix` headers are believed; 0 for none",
    ),
    Setting(
        "api_token",
        "",
        parsers.optional_secret,
        "when set, POST /api/lcd and the pause/resume posts need `Authorization: Bearer <token>`",
        secret=True,
    ),
    prefix="",
)
