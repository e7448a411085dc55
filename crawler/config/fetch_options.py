"""How a source's pages are asked for: its headers, cookies, user agent, proxy and browser.

Some outlets answer only to a request that looks like a reader's (a cookie that closes a
consent wall, an Accept-Language), only from some places (a proxy), or only to a browser
that runs their scripts. These keys of the sources file say so per source, with a
``fetch:`` block under ``defaults:`` for all of them. A proxy's credentials never sit in
the file: it names the environment variable that holds them.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from crawler.config.yaml_lines import Validator, Value, close_match, show

__all__ = [
    "FETCH_KEYS",
    "FetchOptions",
    "Proxy",
    "RenderMode",
    "basic_authorization",
    "build_fetch_options",
    "split_fetch_block",
]

# RFC 9110 token: the characters a header or cookie name may hold.
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Headers with a key of their own, or that the HTTP layer writes: a header of the same
# name would fight it.
_OWN_KEYS = {"user-agent": "user_agent", "cookie": "cookies", "proxy-authorization": "proxy (credentials_env)"}
_LAYER_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "te", "upgrade", "keep-alive"}
_PROXY_SCHEMES = ("http", "https")
_PROXY_KEYS = ("url", "credentials_env")


class RenderMode(StrEnum):
    """``render:`` of a source: never, every article page, or only a page that needs it."""

    OFF = "false"
    ALWAYS = "true"
    AUTO = "auto"


@dataclass(frozen=True, slots=True)
class Proxy:
    """A proxy for every request of a source; ``credentials_env`` names the variable that holds
    ``user:password`` (never the file)."""

    url: str
    credentials_env: str | None = None

    def credentials(self, environ: Any) -> tuple[str, str] | str | None:
        """(user, password), None without credentials, or the problem (unset, malformed) as text."""
        if self.credentials_env is None:
            return None
        value = environ.get(self.credentials_env)
        if not value:
            return f"the environment variable {self.credentials_env} (proxy credentials) is not set"
        user, sep, password = value.partition(":")
        if not sep or not user:
            return f"the environment variable {self.credentials_env} must hold user:password"
        return user, password


def basic_authorization(credentials: tuple[str, str]) -> bytes:
    """The value of a Proxy-Authorization header for ``(user, password)``."""
    return b"Basic " + base64.b64encode(":".join(credentials).encode("utf-8"))


@dataclass(frozen=True, slots=True)
class FetchOptions:
    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[tuple[str, str], ...] = ()
    user_agent: str | None = None
    proxy: Proxy | None = None
    render: RenderMode = RenderMode.OFF

    @property
    def plain(self) -> bool:
        """Nothing to apply: requests go out as the crawler's settings make them."""
        return self == _PLAIN


_PLAIN = FetchOptions()


# --- validation (called by crawler/config/sources_file.py) -------------------------


def _pairs(check: Validator, v: Value, key: str, kind: str) -> dict[str, str | None] | None:
    """A mapping of names to values; a null value removes a name a default gave."""
    raw = check.mapping(v, key)
    if raw is None:
        return None
    pairs: dict[str, str | None] = {}
    for name, (name_value, value) in raw.items():
        where = f"{key}.{name}"
        if not _TOKEN.match(name):
            check.error(name_value.line, where, f"{name!r} is not a valid {kind} name")
            continue
        if kind == "header" and (own := _OWN_KEYS.get(name.lower())):
            check.error(name_value.line, where, f"set it with the source's {own} key, not as a header")
            continue
        if kind == "header" and name.lower() in _LAYER_HEADERS:
            check.error(name_value.line, where, "the HTTP layer writes this header; it cannot be set")
            continue
        if value.value is None:
            pairs[name] = None
            continue
        text = value.value if isinstance(value.value, str) else None
        if isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
            text = str(value.value)
        if text is None or any(c in text for c in "\r\n\0") or (kind == "cookie" and any(c in text for c in ";, ")):
            problem = "a single-line string" + (" without ';', ',' or spaces" if kind == "cookie" else "")
            check.error(value.line, where, f"expected {problem}, got {show(value.value)}")
            continue
        pairs[name] = text
    return pairs


def _headers(check: Validator, v: Value, key: str) -> dict[str, str | None] | None:
    return _pairs(check, v, key, "header")


def _cookies(check: Validator, v: Value, key: str) -> dict[str, str | None] | None:
    return _pairs(check, v, key, "cookie")


def _user_agent(check: Validator, v: Value, key: str) -> str | None:
    text = check.str_(v, key)
    if text is not None and any(c in text for c in "\r\n\0"):
        check.error(v.line, key, "expected a single line")
        return None
    return text


def _proxy_url(check: Validator, v: Value, key: str) -> str | None:
    text = check.str_(v, key)
    if text is None:
        return None
    parts = urlsplit(text)
    if parts.username or parts.password:
        check.error(
            v.line, key, "credentials never go in the file: write proxy: {url: URL, credentials_env: VARIABLE} "
            "and put user:password in that environment variable",
        )  # fmt: skip
        return None
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in _PROXY_SCHEMES or not parts.hostname or port == -1 or parts.path not in ("", "/"):
        check.error(v.line, key, f"{text!r} is not a proxy URL such as http://proxy.example:3128 (http or https)")
        return None
    return text.rstrip("/")


def _proxy(check: Validator, v: Value, key: str) -> Proxy | bool | None:
    """A URL, {url, credentials_env}, or false (no proxy, whatever the defaults say)."""
    if v.value is False:
        return False
    if isinstance(v.value, str):
        url = _proxy_url(check, v, key)
        return None if url is None else Proxy(url)
    raw = check.mapping(v, key)
    if raw is None:
        return None
    for name, (name_value, _) in raw.items():
        if name not in _PROXY_KEYS:
            check.error(name_value.line, f"{key}.{name}", f"unknown key{close_match(name, _PROXY_KEYS)}")
    if "url" not in raw:
        check.error(v.line, f"{key}.url", "a proxy needs its url")
        return None
    url = _proxy_url(check, raw["url"][1], f"{key}.url")
    env = None
    if "credentials_env" in raw:
        env = check.str_(raw["credentials_env"][1], f"{key}.credentials_env")
        if env is not None and not _ENV_NAME.match(env):
            check.error(raw["credentials_env"][1].line, f"{key}.credentials_env", f"{env!r} is not a variable name")
            return None
    return None if url is None or ("credentials_env" in raw and env is None) else Proxy(url, env)


def _render(check: Validator, v: Value, key: str) -> RenderMode | None:
    if v.value is True or v.value is False:
        return RenderMode.ALWAYS if v.value else RenderMode.OFF
    if isinstance(v.value, str) and v.value.strip().lower() == "auto":
        return RenderMode.AUTO
    check.error(v.line, key, f"expected true, false or auto, got {show(v.value)}")
    return None


# Each fetch key and its parser (None: a problem was recorded).
PARSERS: dict[str, Callable[[Validator, Value, str], Any]] = {
    "headers": _headers,
    "cookies": _cookies,
    "user_agent": _user_agent,
    "proxy": _proxy,
    "render": _render,
}
FETCH_KEYS = frozenset(PARSERS)
# Mappings merged name by name, the source's over the defaults'.
_MERGED = ("headers", "cookies")


def split_fetch_block(
    check: Validator, raw: dict[str, tuple[Value, Value]], where: str
) -> dict[str, tuple[Value, Value]]:
    """``raw`` with the keys of its ``fetch:`` block (if any) lifted beside the others: the
    block groups the fetch keys, and a key given both ways is a mistake."""
    if "fetch" not in raw:
        return raw
    block = raw["fetch"][1]
    lifted = {key: entry for key, entry in raw.items() if key != "fetch"}
    mapping = check.mapping(block, f"{where}fetch") if block.value is not None else {}
    for key, entry in (mapping or {}).items():
        if key not in FETCH_KEYS:
            check.error(entry[0].line, f"{where}fetch.{key}", f"unknown key{close_match(key, FETCH_KEYS)}")
        elif key in lifted:
            check.error(entry[0].line, f"{where}fetch.{key}", f"{key} is also given outside the fetch block")
        else:
            lifted[key] = entry
    return lifted


def build_fetch_options(
    check: Validator, defaults: dict[str, tuple[Value, Value]], raw: dict[str, tuple[Value, Value]]
) -> FetchOptions | None:
    """A source's fetch options: its own keys over the defaults', headers and cookies merged by name."""
    before = len(check.problems)
    values: dict[str, Any] = {}
    for layer in (defaults, raw):
        for key in FETCH_KEYS & layer.keys():
            parsed = PARSERS[key](check, layer[key][1], key)
            if parsed is None:
                continue
            if key in _MERGED:
                values[key] = {**values.get(key, {}), **parsed}
            else:
                values[key] = parsed
    if len(check.problems) > before:
        return None
    for key in _MERGED:
        values[key] = tuple((name, value) for name, value in values.get(key, {}).items() if value is not None)
    if values.get("proxy") is False:
        values["proxy"] = None
    return FetchOptions(**values)
