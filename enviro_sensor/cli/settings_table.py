"""``enviro-sensor settings``: every setting, its value, where it came from and what it means."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from typing import TextIO

from enviro_sensor.settings import Setting, all_settings

MASK = "********"


def shown_value(setting: Setting, raw: str) -> str:
    """The value as it may be printed: secrets masked, a URL's password too."""
    if not raw:
        return ""
    if setting.secret:
        return MASK
    if "://" in raw:
        parts = urllib.parse.urlsplit(raw.strip())
        if parts.password:
            host = parts.netloc.rpartition("@")[2]
            return urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.username}:{MASK}@{host}"))
    return raw


def rows(environ: Mapping[str, str]) -> list[tuple[str, str, str, str, str]]:
    """(variable, value, source, range, meaning) for every setting."""
    table = []
    for setting in all_settings():
        source = "environment" if setting.env in environ else "default"
        raw = environ.get(setting.env, setting.default)
        table.append((setting.env, shown_value(setting, raw), source, setting.accepts, setting.description))
    return table


def markdown_table() -> str:
    """The README's table of settings and their defaults, made from the declarations."""
    lines = ["| variable | default | accepts | meaning |", "| --- | --- | --- | --- |"]
    for setting in all_settings():
        default = f"`{setting.default}`" if setting.default else "(none)"
        lines.append(f"| `{setting.env}` | {default} | {setting.accepts} | {setting.description} |")
    return "\n".join(lines) + "\n"


def show_settings(stream: TextIO, *, markdown: bool = False, environ: Mapping[str, str] | None = None) -> int:
    if markdown:
        stream.write(markdown_table())
        return 0
    environ = os.environ if environ is None else environ
    for variable, value, source, accepts, meaning in rows(environ):
        stream.write(f"{variable}={value}\n    {source}; {accepts}\n    {meaning}\n")
    return 0
