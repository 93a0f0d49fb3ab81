"""How a part declares its settings, and how the declarations are read into options.

A part (the web server, the board, a sensor kind, an output, the LCD, ...)
declares the ``ENVIRO_*`` variables it reads beside its code, as a
``Declaration``: its settings, the small frozen options object it receives,
and settings of other parts it also needs (``shared``, by field name, such as
``data_dir``). ``read`` parses the environment for a list of declarations and
builds each part's options; nothing here knows which parts exist.
"""

from __future__ import annotations

import dataclasses
import os
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")

PREFIX = "ENVIRO_"


class SettingsError(ValueError):
    """A setting has a value the service cannot use; the message names it."""


@dataclasses.dataclass(frozen=True)
class Setting:
    """One environment variable: the option it fills, its default, parser and meaning."""

    #: The attribute of the part's options object.
    option: str
    #: The text a user would write in the environment (the README shows it verbatim).
    default: str
    parse: Callable[[str], Any]
    description: str
    #: The variable's name; made from the part's prefix and the option when empty.
    env: str = ""
    #: Masked wherever the value is shown (``enviro-sensor settings``).
    secret: bool = False

    @property
    def field(self) -> str:
        """The variable's name without ENVIRO_, lower case: the key of overrides and shared values."""
        return self.env.removeprefix(PREFIX).lower()

    @property
    def accepts(self) -> str:
        """What the parser takes, in words."""
        return str(getattr(self.parse, "accepts", ""))


@dataclasses.dataclass(frozen=True, eq=False)
class Declaration(Generic[T]):
    """A part's settings and the options object it is handed."""

    #: The part's name (``mqtt``, ``lcd``, ``pms5003``): the key of its options.
    part: str
    #: Builds the options from keyword arguments, one per option and shared field.
    options: Callable[..., T]
    #: The part's own settings, with their variable names filled in.
    own: tuple[Setting, ...] = ()
    #: Fields of other parts' settings this part also receives (``data_dir``).
    shared: tuple[str, ...] = ()
    #: Settings only known at run time (one interval per sensor group).
    more: Callable[[], tuple[Setting, ...]] | None = None
    #: Builds the options from the parsed values, when ``options(**values)`` will not do.
    build: Callable[[dict[str, Any]], T] | None = None
    #: Checks the options as a whole; raises ValueError starting with the variable's name.
    check: Callable[[T], None] | None = None

    def settings(self) -> tuple[Setting, ...]:
        """Every variable this part reads of its own."""
        return (*self.own, *(self.more() if self.more is not None else ()))


def declare(
    part: str,
    options: Callable[..., T],
    *settings: Setting,
    prefix: str | None = None,
    shared: tuple[str, ...] = (),
    more: Callable[[], tuple[Setting, ...]] | None = None,
    build: Callable[[dict[str, Any]], T] | None = None,
    check: Callable[[T], None] | None = None,
) -> Declaration[T]:
    """A part's declaration; a setting's variable is ENVIRO_<prefix>_<option> unless it names one.

    ``prefix`` defaults to the part's name; ``""`` means none (``ENVIRO_HOST``).
    """
    prefix = part if prefix is None else prefix
    named = tuple(
        setting
        if setting.env
        else dataclasses.replace(
            setting, env=PREFIX + (f"{prefix}_{setting.option}" if prefix else setting.option).upper()
        )
        for setting in settings
    )
    return Declaration(part, options, named, shared, more, build, check)


@dataclasses.dataclass(frozen=True)
class Settings:
    """What ``read`` made: every parsed value by field, and each part's options by part."""

    values: Mapping[str, Any]
    parts: Mapping[str, Any]
    #: Where each value came from, by field: "environment" or "default" (or "override").
    sources: Mapping[str, str]

    def of(self, declaration: Declaration[T]) -> T:
        """The options of the part ``declaration`` declares."""
        return self.parts[declaration.part]  # type: ignore[no-any-return]

    def __getattr__(self, field: str) -> Any:
        # Convenience for the composition root and tests: settings.data_dir.
        try:
            return self.values[field]
        except KeyError:
            raise AttributeError(field) from None


def every_setting(declarations: Iterable[Declaration[Any]]) -> tuple[Setting, ...]:
    """Every declared variable, in the order of the declarations; two parts may not declare one."""
    seen: dict[str, tuple[Setting, str]] = {}
    for declaration in dict.fromkeys(declarations):
        for setting in declaration.settings():
            if setting.field in seen:
                raise ValueError(
                    f"{setting.env} is declared by {seen[setting.field][1]} and {declaration.part}"
                )
            seen[setting.field] = (setting, declaration.part)
    return tuple(setting for setting, _part in seen.values())


def read(
    declarations: Iterable[Declaration[Any]],
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Parse every declared variable from ``environ`` and build each part's options.

    ``overrides`` holds already-parsed values by field (tests use it). Raises
    SettingsError with one line naming the variable and the problem.
    """
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    declared = list(dict.fromkeys(declarations))  # a kind module may declare for several kinds
    settings = every_setting(declared)
    unknown = set(overrides) - {setting.field for setting in settings}
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for setting in settings:
        if setting.field in overrides:
            values[setting.field], sources[setting.field] = overrides[setting.field], "override"
            continue
        raw = environ.get(setting.env)
        sources[setting.field] = "default" if raw is None else "environment"
        try:
            values[setting.field] = setting.parse(setting.default if raw is None else raw)
        except ValueError as err:
            raise SettingsError(f"{setting.env}: {err}") from None
    parts: dict[str, Any] = {}
    for declaration in declared:
        missing = [name for name in declaration.shared if name not in values]
        if missing:
            raise SettingsError(f"{declaration.part}: shares settings nobody declares: {', '.join(missing)}")
        given = {setting.option: values[setting.field] for setting in declaration.settings()}
        given.update({name: values[name] for name in declaration.shared})
        options = declaration.build(given) if declaration.build else declaration.options(**given)
        if declaration.check is not None:
            try:
                declaration.check(options)
            except ValueError as err:
                raise SettingsError(str(err)) from None
        parts[declaration.part] = options
    return Settings(
        types.MappingProxyType(values), types.MappingProxyType(parts), types.MappingProxyType(sources)
    )
