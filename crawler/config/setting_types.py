"""Numbers and switches given on the command line (``-s NAME=value``) arrive as text and are
converted where a component reads them: a typo there (``-s DOWNLOAD_DELAY=2s``) used to end
in a traceback halfway through start-up. The crawl checks them first, by the type of each
setting's default, and says which one is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

from scrapy.settings import BaseSettings
from scrapy.settings import default_settings as scrapy_defaults

__all__ = ["setting_problems", "settings_config"]

_Config = TypeVar("_Config")

_EXPECTED = {bool: "True or False (1 or 0)", int: "a whole number", float: "a number"}


def _kind(name: str, defaults: Mapping[str, Any]) -> type | None:
    value = defaults.get(name, getattr(scrapy_defaults, name, None))
    # bool before int: True is an int too.
    kind = next((k for k in (bool, int, float) if isinstance(value, k)), None)
    # Scrapy reads several settings whose default is a whole number as floats (DOWNLOAD_TIMEOUT,
    # DNS_TIMEOUT, CLOSESPIDER_TIMEOUT): for its own settings any number will do.
    if kind is int and hasattr(scrapy_defaults, name):
        return float
    return kind


def setting_problems(settings: BaseSettings, defaults: Mapping[str, Any]) -> list[str]:
    """One sentence per setting whose value cannot be read as its default's type; ``defaults``
    are the project's (the type of each default is the type its readers ask for)."""
    getters: dict[type, Any] = {bool: settings.getbool, int: settings.getint, float: settings.getfloat}
    problems = []
    for name, value in sorted(settings.items()):
        kind = _kind(name, defaults) if isinstance(value, str) else None
        if kind is None:
            continue
        try:
            getters[kind](name)
        except ValueError:
            problems.append(f"-s {name}={value}: give {_EXPECTED[kind]}")
    return problems


def settings_config(
    cls: type[_Config], settings: BaseSettings, prefix: str = "", names: Mapping[str, str] | None = None
) -> _Config:
    """A component's frozen config (a dataclass) read from the settings: each field from the
    setting ``names`` gives it, or else ``prefix`` + its name in capitals, as the field's
    annotated type. The fields' defaults are the settings' own (``defaults.NAME``, in
    crawler/settings.py), so no reader restates one."""
    getters: dict[str, Any] = {"bool": settings.getbool, "int": settings.getint, "float": settings.getfloat}
    values = {}
    for spec in fields(cls):  # type: ignore[arg-type]
        name = (names or {}).get(spec.name, f"{prefix}{spec.name.upper()}")
        if name in settings:
            kind = spec.type if isinstance(spec.type, str) else getattr(spec.type, "__name__", "")
            values[spec.name] = getters.get(kind, settings.get)(name, spec.default)
    return cls(**values)
