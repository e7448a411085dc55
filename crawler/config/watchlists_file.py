"""Load and validate the watchlists file (WATCHLISTS_FILE) into frozen dataclasses.

A watchlist is what an analyst follows: terms and phrases in any language, AND groups and
NOT terms, optionally only some sources or languages, a minimum number of mentions, and a
webhook to hear about it at once. Mistakes are reported as the sources file's are: every one,
with the file, the line, the watchlist and the key.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from crawler.config.yaml_lines import Problem, Validator, Value, close_match, read_yaml, show

__all__ = ["Term", "Watchlist", "WatchlistsConfig", "WatchlistsError", "Webhook", "load_watchlists"]

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2}$")
ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A term is a word or a phrase; beyond this it is a sentence pasted by mistake.
MAX_TERM_WORDS = 8


@dataclass(frozen=True, slots=True)
class Term:
    """A word or phrase as written; ``exact``: its written form only (an abbreviation, a
    code name), not every inflected form of its words."""

    text: str
    exact: bool = False


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str
    # The environment variable holding the secret the payload is signed with (HMAC-SHA256):
    # a secret never sits in the file.
    secret_env: str | None = None


@dataclass(frozen=True, slots=True)
class Watchlist:
    name: str
    # Any of these (when there are any) ...
    terms: tuple[Term, ...] = ()
    # ... and one of each of these groups ...
    all: tuple[tuple[Term, ...], ...] = ()
    # ... and none of these.
    exclude: tuple[Term, ...] = ()
    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    # Mentions of its terms (and groups' terms) an article needs, in its original or its English.
    min_matches: int = 1
    webhook: Webhook | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class WatchlistsConfig:
    path: Path
    watchlists: tuple[Watchlist, ...]

    def get(self, name: str) -> Watchlist | None:
        return next((w for w in self.watchlists if w.name == name), None)

    @property
    def webhooks(self) -> dict[str, Webhook]:
        """The webhook of each watchlist that has one, by watchlist name."""
        return {w.name: w.webhook for w in self.watchlists if w.webhook is not None}


class WatchlistsError(Exception):
    """The watchlists file is invalid; ``str()`` is the user message, a line per problem."""

    def __init__(self, path: Path | str, problems: Iterable[Problem]):
        self.path = path
        self.problems = list(problems)
        super().__init__("\n".join(problem.format(path) for problem in self.problems))


_KEYS = ("name", "terms", "all", "not", "sources", "languages", "min_matches", "webhook")
_DEFAULT_KEYS = ("sources", "languages", "min_matches", "webhook")


def _term(check: Validator, v: Value, key: str) -> Term | None:
    if isinstance(v.value, dict):
        fields = v.value
        for name, (name_value, _) in fields.items():
            if name not in ("term", "exact"):
                check.error(name_value.line, key, f"unknown key {name!r}{close_match(name, ('term', 'exact'))}")
        if "term" not in fields:
            check.error(v.line, key, "a term written as a mapping needs 'term:'")
            return None
        text = check.str_(fields["term"][1], key)
        exact = check.bool_(fields["exact"][1], f"{key}.exact") if "exact" in fields else False
        return Term(text, bool(exact)) if text else None
    if isinstance(v.value, int | float) and not isinstance(v.value, bool):
        v = Value(str(v.value), v.line)  # a number as a term: "9/11", "1991"
    text = check.str_(v, key)
    if text is None:
        return None
    if not re.search(r"\w", text):
        check.error(v.line, key, f"{text!r} has no letters or digits to match")
        return None
    if len(text.split()) > MAX_TERM_WORDS:
        check.error(v.line, key, f"{text!r} is longer than {MAX_TERM_WORDS} words; a term is a word or a phrase")
        return None
    return Term(text)


def _terms(check: Validator, v: Value, key: str) -> tuple[Term, ...] | None:
    items = check.list_(v, key)
    if items is None:
        return None
    terms = [_term(check, item, f"{key}[{i}]") for i, item in enumerate(items)]
    return tuple(dict.fromkeys(t for t in terms if t is not None))


def _groups(check: Validator, v: Value, key: str) -> tuple[tuple[Term, ...], ...] | None:
    items = check.list_(v, key)
    if items is None:
        return None
    groups = []
    for i, item in enumerate(items):
        group = _terms(check, item, f"{key}[{i}]") if isinstance(item.value, list) else _terms(check, item, key)
        if group:
            groups.append(group)
    return tuple(groups)


def _names(check: Validator, v: Value, key: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...] | None:
    items = check.list_(v, key)
    if items is None:
        return None
    names = []
    for item in items:
        text = check.str_(item, key)
        if text is not None and not pattern.match(text.lower() if key == "languages" else text):
            check.error(item.line, key, f"{text!r} is not {what}")
        elif text is not None:
            names.append(text.lower() if key == "languages" else text)
    return tuple(dict.fromkeys(names))


def _webhook(check: Validator, v: Value, key: str) -> Webhook | None:
    fields = v.value if isinstance(v.value, dict) else {"url": (v, v)}
    for name, (name_value, _) in fields.items():
        if name not in ("url", "secret_env"):
            check.error(name_value.line, key, f"unknown key {name!r}{close_match(name, ('url', 'secret_env'))}")
    if "url" not in fields:
        check.error(v.line, key, "a webhook needs 'url:'")
        return None
    url = check.url(fields["url"][1], key)
    secret = check.str_(fields["secret_env"][1], f"{key}.secret_env") if "secret_env" in fields else None
    if secret is not None and not ENV_RE.match(secret):
        check.error(
            fields["secret_env"][1].line, f"{key}.secret_env", f"{secret!r} is not an environment variable name"
        )
        return None
    return Webhook(url, secret) if url else None


def _min_matches(check: Validator, v: Value, key: str) -> int | None:
    if isinstance(v.value, int) and not isinstance(v.value, bool) and 1 <= v.value <= 1000:
        return v.value
    check.error(v.line, key, f"expected a whole number from 1 to 1000, got {show(v.value)}")
    return None


def _field(check: Validator, key: str, v: Value) -> object:
    readers = {
        "terms": _terms, "all": _groups, "not": _terms, "min_matches": _min_matches, "webhook": _webhook,
        "sources": lambda c, value, k: _names(c, value, k, NAME_RE, "a source name"),
        "languages": lambda c, value, k: _names(c, value, k, LANGUAGE_RE, "a two-letter language code"),
    }  # fmt: skip
    return readers[key](check, v, key)


def _build(check: Validator, item: Value, defaults: dict[str, object]) -> Watchlist | None:
    check.source = None
    raw = check.mapping(item, None)
    if raw is None:
        return None
    if "name" not in raw:
        check.error(item.line, "name", "every watchlist needs a name")
        return None
    name = check.str_(raw["name"][1], "name")
    if name is None:
        return None
    check.source = name
    if not NAME_RE.match(name):
        check.error(raw["name"][1].line, "name", "use letters, digits, '-' and '_' only (it names a feed file)")
    fields: dict[str, object] = dict(defaults)
    for key, (key_value, value) in raw.items():
        if key not in _KEYS:
            check.error(key_value.line, key, f"unknown key{close_match(key, _KEYS)}")
        elif key != "name":
            fields[key] = _field(check, key, value)
    if not fields.get("terms") and not fields.get("all"):
        check.error(item.line, "terms", "a watchlist needs 'terms:' or 'all:' groups to match")
        return None
    return Watchlist(
        name=name, terms=fields.get("terms") or (), all=fields.get("all") or (), exclude=fields.get("not") or (),
        sources=fields.get("sources") or (), languages=fields.get("languages") or (),
        min_matches=fields.get("min_matches") or 1, webhook=fields.get("webhook"), line=item.line,
    )  # type: ignore[arg-type]  # fmt: skip


def _defaults(check: Validator, top: dict[str, tuple[Value, Value]]) -> dict[str, object]:
    if "defaults" not in top or top["defaults"][1].value is None:
        return {}
    raw = check.mapping(top["defaults"][1], "defaults") or {}
    defaults = {}
    for key, (key_value, value) in raw.items():
        if key not in _DEFAULT_KEYS:
            check.error(key_value.line, f"defaults.{key}", f"unknown key{close_match(key, _DEFAULT_KEYS)}")
        else:
            defaults[key] = _field(check, key, value)
    return defaults


def _validate(root: Value, known_sources: frozenset[str] | None) -> tuple[list[Watchlist], list[Problem]]:
    check = Validator("watchlist")
    top = check.mapping(root, None)
    if top is None:
        return [], check.problems
    for key, (key_value, _) in top.items():
        if key not in ("defaults", "watchlists") and not key.startswith("x-"):
            check.error(key_value.line, key, f"unknown top-level key{close_match(key, ('defaults', 'watchlists'))}")
    defaults = _defaults(check, top)
    items = top.get("watchlists", (root, Value(None, root.line)))[1]
    if not isinstance(items.value, list):
        check.error(items.line, "watchlists", f"expected a list of watchlists, got {show(items.value)}")
        return [], check.problems
    watchlists: list[Watchlist] = []
    seen: dict[str, int] = {}
    for item in items.value:
        watchlist = _build(check, item, defaults)
        if watchlist is None:
            continue
        if (first := seen.get(watchlist.name.lower())) is not None:
            check.error(watchlist.line, "name", f"duplicate name; the first watchlist with it is on line {first}")
            continue
        seen[watchlist.name.lower()] = watchlist.line
        for source in watchlist.sources:
            if known_sources is not None and source not in known_sources:
                hint = close_match(source, known_sources)
                check.error(watchlist.line, "sources", f"no source is named {source!r}{hint}")
        watchlists.append(watchlist)
    return watchlists, check.problems


def load_watchlists(path: Path | str, known_sources: Iterable[str] | None = None) -> WatchlistsConfig:
    """Read and validate a watchlists file; raise WatchlistsError listing every problem.
    ``known_sources``: the sources file's names, which a watchlist's ``sources:`` must be."""
    path = Path(path)
    known = frozenset(known_sources) if known_sources is not None else None
    try:
        stat = path.stat()
    except OSError:
        return _read(path, known)
    return _cached(path.resolve(), stat.st_mtime_ns, stat.st_size, known)


@functools.lru_cache(maxsize=8)
def _cached(path: Path, mtime_ns: int, size: int, known: frozenset[str] | None) -> WatchlistsConfig:
    return _read(path, known)


def _read(path: Path, known: frozenset[str] | None) -> WatchlistsConfig:
    parsed = read_yaml(path, "file not found (set WATCHLISTS_FILE, or create it)")
    if isinstance(parsed, Problem):
        raise WatchlistsError(path, [parsed])
    if parsed is None:
        return WatchlistsConfig(path, ())
    watchlists, problems = _validate(parsed, known)
    if problems:
        raise WatchlistsError(path, problems)
    return WatchlistsConfig(path, tuple(watchlists))
