"""Parsers for settings: text in, a typed value out, or ValueError saying what was expected.

Each parser also says in words what it accepts (``accepts``), which
``enviro-sensor settings`` and the README's table show beside the setting.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import urllib.parse
from collections.abc import Callable
from typing import Any


@dataclasses.dataclass(frozen=True)
class Parser:
    """A parse function and what it accepts, in words."""

    parse: Callable[[str], Any]
    accepts: str

    def __call__(self, text: str) -> Any:
        return self.parse(text)


def described(accepts: str) -> Callable[[Callable[[str], Any]], Parser]:
    """Make a parse function a Parser that accepts ``accepts``."""

    def wrap(parse: Callable[[str], Any]) -> Parser:
        return Parser(parse, accepts)

    return wrap


def integer(low: int, high: int, unit: str = "") -> Parser:
    def parse(text: str) -> int:
        try:
            value = int(text.strip(), 10)
        except ValueError:
            raise ValueError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise ValueError(f"expected a number from {low} to {high}, got {value}")
        return value

    return Parser(parse, f"whole number, {low} to {high}" + (f" {unit}" if unit else ""))


def _decimal(low: float, high: float, kind: str, in_range: str, accepts: str) -> Parser:
    """A number from ``low`` to ``high``; the messages say ``kind`` and ``in_range`` in words."""

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise ValueError(f"expected {kind}, got {text!r}") from None
        if not low <= value <= high:  # also rejects nan
            raise ValueError(f"expected {in_range}, got {text.strip()}")
        return value

    return Parser(parse, accepts)


def seconds(low: float, high: float) -> Parser:
    return _decimal(
        low, high, "a number of seconds", f"{low:g} to {high:g} seconds", f"seconds, {low:g} to {high:g}"
    )


def number(low: float, high: float, unit: str = "") -> Parser:
    accepts = f"number, {low:g} to {high:g}" + (f" {unit}" if unit else "")
    return _decimal(low, high, "a number", f"a number from {low:g} to {high:g}", accepts)


def choice(*choices: str) -> Parser:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {text!r}")
        return value

    return Parser(parse, "one of " + ", ".join(choices))


@described("IP address or host name")
def host(text: str) -> str:
    value = text.strip()
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        if not value or any(c.isspace() for c in value):
            raise ValueError(f"expected an IP address or host name, got {text!r}") from None
    return value


@described("text")
def text(value: str) -> str:
    return value.strip()


@described("text, or empty for none")
def optional_text(value: str) -> str | None:
    return value.strip() or None


@described("a sensor's name, or empty for none")
def optional_name(value: str) -> str | None:
    """A sensor's name, or None when empty (checked against the sensors later)."""
    return value.strip().lower() or None


@described("a directory, or empty for none")
def optional_directory(value: str) -> str | None:
    path = value.strip()
    if path and os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"is not a directory: {path}")
    return path or None


@described("a file that exists, or empty for none")
def optional_file(value: str) -> str | None:
    path = value.strip()
    if path and not os.path.isfile(path):
        raise ValueError(f"no such file: {path}")
    return path or None


@described("a secret (shown masked), or empty for none")
def optional_secret(value: str) -> str | None:
    secret = value.strip()
    if value and not secret:
        # Set, yet blank: most likely a template or a quoting slip. Reading
        # it as "no secret" would silently leave something open.
        raise ValueError("is only white space; set a value, or leave the variable empty for none")
    return secret or None


@described("TCP port, 1 to 65535, or empty for none")
def optional_port(value: str) -> int | None:
    if not value.strip():
        return None
    return int(integer(1, 65535)(value))


@described("http:// or https:// URL, or empty for none")
def http_url(value: str) -> str | None:
    url = value.strip()
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected the server's base URL, e.g. http://host:8086, got {value!r}")
    return url
