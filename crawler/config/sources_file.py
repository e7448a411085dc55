"""Load and validate the sources file into frozen dataclasses.

Every mistake is reported with the file, the line, the source and the key, so
a user can fix the YAML without reading code. Validation collects all problems
before giving up, and nothing here touches the network.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from lxml import etree

from crawler.config.date_templates import is_template, template_problem
from crawler.config.regex_safety import RegexProblem, check_follow_pattern
from crawler.config.windows import Since, parse_revisits, parse_since
from crawler.parsing.kinds import DiscoveryKind
from crawler.parsing.urls import host_of, is_public_http_url_syntax

__all__ = [
    "ExtractRules",
    "Listing",
    "Source",
    "SourcesConfig",
    "SourcesError",
    "load_sources",
    "select_sources",
]

# A sources file is a few kilobytes; anything this large is a mistake or an attack.
MAX_FILE_BYTES = 2 * 1024 * 1024
# Bounds the work an alias bomb ("billion laughs" made of YAML anchors) can cause.
MAX_NODES = 200_000

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2}$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
EXTRACT_KEYS = ("title", "body", "published", "author", "summary")


@dataclass(frozen=True, slots=True)
class Listing:
    url: str
    follow: re.Pattern[str]
    # XPath of the next page's link, where the automatic detection gets it wrong.
    next: str | None = None


@dataclass(frozen=True, slots=True)
class ExtractRules:
    """Per-source XPath overrides; a set rule wins over trafilatura's guess."""

    title: str | None = None
    body: str | None = None
    published: str | None = None
    author: str | None = None
    summary: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {key: value for key in EXTRACT_KEYS if (value := getattr(self, key))}


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    listings: tuple[Listing, ...] = ()
    language: str | None = None
    enabled: bool = True
    allowed_domains: tuple[str, ...] = ()
    translate: bool = True
    extract: ExtractRules = field(default_factory=ExtractRules)
    download_delay: float | None = None
    max_articles: int | None = None
    # Requests in flight at once to this source's site (all its hosts together).
    concurrency: int | None = None
    # A regex every article link must match, from any feed, sitemap or listing (a shared
    # sitemap that also lists another edition's articles, say).
    follow: re.Pattern[str] | None = None
    # Where a backfill starts: archives are read back to here, older articles are not fetched.
    since: Since | None = None
    # Ages (seconds after first seen) at which a delivered article is checked again for
    # unannounced edits and removals; () for ``revisit: false``; None: REVISIT_AFTER.
    revisit: tuple[float, ...] | None = None
    line: int = 0

    @property
    def roots(self) -> tuple[tuple[DiscoveryKind, str], ...]:
        """The discovery documents the sources file names, each with its kind, in file order."""
        return (
            *((DiscoveryKind.FEED, url) for url in self.feeds),
            *((DiscoveryKind.SITEMAP, url) for url in self.sitemaps),
            *((DiscoveryKind.LISTING, listing.url) for listing in self.listings),
        )

    @property
    def discovery_urls(self) -> tuple[str, ...]:
        return tuple(url for _, url in self.roots)

    def allows(self, url: str) -> bool:
        """True when ``url``'s host is one of ``allowed_domains`` or a subdomain of one."""
        host = host_of(url)
        return any(host == domain or host.endswith("." + domain) for domain in self.allowed_domains)

    def follows(self, url: str) -> bool:
        """True when ``url`` may be an article of this source (its ``follow`` regex, if any)."""
        return self.follow is None or self.follow.search(url) is not None


@dataclass(frozen=True, slots=True)
class SourcesConfig:
    path: Path
    sources: tuple[Source, ...]

    def get(self, name: str) -> Source | None:
        return next((source for source in self.sources if source.name == name), None)

    @property
    def enabled(self) -> tuple[Source, ...]:
        return tuple(source for source in self.sources if source.enabled)


@dataclass(frozen=True, slots=True)
class Problem:
    line: int | None
    source: str | None
    key: str | None
    message: str

    def format(self, path: Path | str) -> str:
        where = f"{path}:{self.line}" if self.line else f"{path}"
        parts = []
        if self.source:
            parts.append(f"source {self.source!r}")
        if self.key:
            parts.append(f"key {self.key!r}")
        context = ", ".join(parts)
        return f"{where}: {context + ': ' if context else ''}{self.message}"


class SourcesError(Exception):
    """The sources file (or a source selection) is invalid; ``str()`` is the user message."""

    def __init__(self, path: Path | str, problems: Iterable[Problem]):
        self.path = path
        self.problems = list(problems)
        super().__init__("\n".join(problem.format(path) for problem in self.problems))


# --- YAML with line numbers -------------------------------------------------


@dataclass(slots=True)
class _Value:
    """A YAML value with the line it starts on (1-based)."""

    value: Any
    line: int


class _Reader:
    """Turns a composed YAML node graph into ``_Value`` trees, bounding the work."""

    def __init__(self) -> None:
        self._loader = yaml.SafeLoader("")
        self._nodes = 0

    def read(self, node: yaml.Node) -> _Value:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _TooLargeError(node.start_mark.line + 1)
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            self._loader.flatten_mapping(node)
            result: dict[str, tuple[_Value, _Value]] = {}
            for key_node, value_node in node.value:
                key = self.read(key_node)
                result[str(key.value)] = (key, self.read(value_node))
            return _Value(result, line)
        if isinstance(node, yaml.SequenceNode):
            return _Value([self.read(item) for item in node.value], line)
        return _Value(self._loader.construct_object(node, deep=True), line)


class _TooLargeError(Exception):
    def __init__(self, line: int):
        self.line = line


def _parse_yaml(path: Path, text: str) -> _Value | Problem | None:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        lines = text.splitlines()
        if mark is not None and mark.line < len(lines) and "\t" in lines[mark.line]:
            problem = "a tab character is not allowed in YAML indentation; indent with spaces"
        else:
            problem = f"YAML syntax error: {problem}"
        return Problem(line, None, None, problem)
    except yaml.YAMLError as exc:
        return Problem(None, None, None, f"YAML error: {exc}")
    if node is None:
        return None
    try:
        return _Reader().read(node)
    except _TooLargeError as exc:
        return Problem(
            exc.line,
            None,
            None,
            f"the file expands to more than {MAX_NODES} values (an alias/anchor bomb?)",
        )
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return Problem(mark.line + 1 if mark else None, None, None, f"YAML error: {exc}")


# --- validation ---------------------------------------------------------------

_TOP_KEYS = {"defaults", "sources"}


class _Validator:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.source: str | None = None

    def error(self, line: int | None, key: str | None, message: str) -> None:
        self.problems.append(Problem(line, self.source, key, message))

    # scalar checks return None after recording a problem

    def bool_(self, v: _Value, key: str) -> bool | None:
        if isinstance(v.value, bool):
            return v.value
        self.error(v.line, key, f"expected true or false, got {_show(v.value)}")
        return None

    def str_(self, v: _Value, key: str) -> str | None:
        if isinstance(v.value, str) and v.value.strip():
            return v.value.strip()
        self.error(v.line, key, f"expected a non-empty string, got {_show(v.value)}")
        return None

    def url(self, v: _Value, key: str, templates: bool = False) -> str | None:
        """An absolute http(s) URL; with ``templates``, one that may carry {date:FORMAT} fields."""
        text = self.str_(v, key)
        if text is None:
            return None
        if is_template(text) or "{" in text:
            problem = template_problem(text) if templates else "a {date:…} template works in sitemaps and listings only"
            if problem:
                self.error(v.line, key, f"{text!r}: {problem}")
                return None
            return text
        problem = is_public_http_url_syntax(text)
        if problem:
            self.error(v.line, key, f"{text!r} is not a valid URL: {problem}")
            return None
        return text

    def list_(self, v: _Value, key: str) -> list[_Value] | None:
        if isinstance(v.value, list):
            return v.value
        if isinstance(v.value, str):
            # A single URL where a list is expected is a common slip; accept it.
            return [v]
        self.error(v.line, key, f"expected a list, got {_show(v.value)}")
        return None

    def mapping(self, v: _Value, key: str | None) -> dict[str, tuple[_Value, _Value]] | None:
        if isinstance(v.value, dict):
            return v.value
        self.error(v.line, key, f"expected a mapping (key: value), got {_show(v.value)}")
        return None


def _show(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"the string {shown!r}"
    return f"the {type(value).__name__} {value!r}"


def _close_match(key: str, known: Iterable[str]) -> str:
    import difflib

    match = difflib.get_close_matches(key, sorted(known), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _language(check: _Validator, v: _Value, key: str) -> str | None:
    language = check.str_(v, key)
    if language is None:
        return None
    if LANGUAGE_RE.match(language.lower()):
        return language.lower()
    check.error(v.line, key, f"{language!r} is not a two-letter ISO 639-1 code such as uk, ru or en")
    return None


def _urls(check: _Validator, v: _Value, key: str) -> tuple[str, ...] | None:
    items = check.list_(v, key)
    if items is None:
        return None
    urls = [check.url(item, f"{key}[{i}]", templates=key == "sitemaps") for i, item in enumerate(items)]
    return tuple(dict.fromkeys(url for url in urls if url))


def _since(check: _Validator, v: _Value, key: str) -> Since | None:
    since = parse_since(v.value)
    if isinstance(since, str):
        check.error(v.line, key, since)
        return None
    return since


def _revisit(check: _Validator, v: _Value, key: str) -> tuple[float, ...] | None:
    value = [item.value for item in v.value] if isinstance(v.value, list) else v.value
    ages = parse_revisits(value)
    if isinstance(ages, str):
        check.error(v.line, key, ages)
        return None
    return ages


def _listings(check: _Validator, v: _Value, key: str) -> tuple[Listing, ...] | None:
    items = check.list_(v, key)
    if items is None:
        return None
    listings = (_build_listing(check, item, f"{key}[{i}]") for i, item in enumerate(items))
    return tuple(listing for listing in listings if listing is not None)


def _domains(check: _Validator, v: _Value, key: str) -> tuple[str, ...] | None:
    items = check.list_(v, key)
    if items is None:
        return None
    domains = []
    for i, item in enumerate(items):
        domain = check.str_(item, f"{key}[{i}]")
        if domain is None:
            continue
        domain = domain.lower().strip(".")
        if DOMAIN_RE.match(domain):
            domains.append(domain)
        else:
            check.error(item.line, f"{key}[{i}]", f"{domain!r} is not a domain name (no scheme or path)")
    return tuple(dict.fromkeys(domains))


def _extract(check: _Validator, v: _Value, key: str) -> dict[str, str] | None:
    rules = check.mapping(v, key)
    return None if rules is None else _build_extract(check, rules)


def _delay(check: _Validator, v: _Value, key: str) -> float | None:
    if isinstance(v.value, (int, float)) and not isinstance(v.value, bool) and 0 <= v.value <= 3600:
        return float(v.value)
    check.error(v.line, key, f"expected seconds between 0 and 3600, got {_show(v.value)}")
    return None


def _count(check: _Validator, v: _Value, key: str) -> int | None:
    if isinstance(v.value, int) and not isinstance(v.value, bool) and v.value >= 1:
        return v.value
    check.error(v.line, key, f"expected a whole number of at least 1, got {_show(v.value)}")
    return None


def _follow(check: _Validator, v: _Value, key: str) -> re.Pattern[str] | None:
    pattern = check.str_(v, key)
    if pattern is None:
        return None
    compiled = check_follow_pattern(pattern)
    if isinstance(compiled, RegexProblem):
        check.error(v.line, key, f"{pattern!r}: {compiled.message}")
        return None
    return compiled


def _flag(check: _Validator, v: _Value, key: str) -> bool | None:
    return check.bool_(v, key)


# Each source key and the function that validates and converts its value (None: a problem
# was recorded, or there is nothing to keep).
_PARSERS: dict[str, Callable[[_Validator, _Value, str], Any]] = {
    "language": _language,
    "enabled": _flag,
    "translate": _flag,
    "feeds": _urls,
    "sitemaps": _urls,
    "listings": _listings,
    "allowed_domains": _domains,
    "extract": _extract,
    "download_delay": _delay,
    "max_articles": _count,
    "concurrency": _count,
    "follow": _follow,
    "since": _since,
    "revisit": _revisit,
}
_SOURCE_KEYS = {"name", *_PARSERS}


def _source_name(check: _Validator, raw: dict[str, tuple[_Value, _Value]], line: int) -> str | None:
    name_entry = raw.get("name")
    if name_entry is None:
        check.error(line, "name", "every source needs a name")
        return None
    name = check.str_(name_entry[1], "name")
    if name is not None and not NAME_RE.match(name):
        check.error(name_entry[1].line, "name", f"{name!r}: use only letters, digits, '-' and '_' (at most 64)")
        return None
    return name


def _build_source(
    check: _Validator, raw: dict[str, tuple[_Value, _Value]], defaults: dict[str, tuple[_Value, _Value]], line: int
) -> Source | None:
    name = _source_name(check, raw, line)
    check.source = name
    for key, (key_value, _) in raw.items():
        if key not in _SOURCE_KEYS:
            check.error(key_value.line, key, f"unknown key{_close_match(key, _SOURCE_KEYS)}")
    before = len(check.problems)
    kwargs: dict[str, Any] = {}
    for key, (_, value) in {**defaults, **raw}.items():
        parser = _PARSERS.get(key)
        if parser is not None and (parsed := parser(check, value, key)) is not None:
            kwargs[key] = parsed
    if name is None or len(check.problems) > before:
        return None
    if not (kwargs.get("feeds") or kwargs.get("sitemaps") or kwargs.get("listings")):
        check.error(line, None, "needs at least one discovery URL under feeds, sitemaps or listings")
        return None
    if not kwargs.get("allowed_domains"):
        urls = [*kwargs.get("feeds", ()), *kwargs.get("sitemaps", ())]
        urls += [listing.url for listing in kwargs.get("listings", ())]
        kwargs["allowed_domains"] = tuple(dict.fromkeys(_registrable_host(url) for url in urls))
    return Source(name=name, line=line, **kwargs)


def _registrable_host(url: str) -> str:
    host = host_of(url)
    return host[4:] if host.startswith("www.") else host


_LISTING_KEYS = ("url", "follow", "next")


def _build_listing(check: _Validator, item: _Value, key: str) -> Listing | None:
    raw = check.mapping(item, key)
    if raw is None:
        return None
    for name, (name_value, _) in raw.items():
        if name not in _LISTING_KEYS:
            check.error(name_value.line, f"{key}.{name}", f"unknown key{_close_match(name, _LISTING_KEYS)}")
    url_entry, follow_entry = raw.get("url"), raw.get("follow")
    if url_entry is None:
        check.error(item.line, f"{key}.url", "a listing needs the url of the page that links to articles")
    if follow_entry is None:
        check.error(item.line, f"{key}.follow", "a listing needs a follow regex that article links match")
    if url_entry is None or follow_entry is None:
        return None
    url = check.url(url_entry[1], f"{key}.url", templates=True)
    pattern = check.str_(follow_entry[1], f"{key}.follow")
    next_xpath = _xpath(check, raw["next"][1], f"{key}.next") if "next" in raw else None
    if pattern is None or url is None or ("next" in raw and next_xpath is None):
        return None
    compiled = check_follow_pattern(pattern)
    if isinstance(compiled, RegexProblem):
        check.error(follow_entry[1].line, f"{key}.follow", f"{pattern!r}: {compiled.message}")
        return None
    return Listing(url=url, follow=compiled, next=next_xpath)


def _xpath(check: _Validator, value: _Value, key: str) -> str | None:
    expression = check.str_(value, key)
    if expression is None:
        return None
    try:
        etree.XPath(expression)
    except etree.XPathSyntaxError as exc:
        check.error(value.line, key, f"{expression!r} is not a valid XPath expression ({exc})")
        return None
    return expression


def _build_extract(check: _Validator, rules: dict[str, tuple[_Value, _Value]]) -> ExtractRules:
    values: dict[str, str] = {}
    for key, (key_value, value) in rules.items():
        if key not in EXTRACT_KEYS:
            check.error(
                key_value.line,
                f"extract.{key}",
                f"unknown key{_close_match(key, EXTRACT_KEYS)}; use one of {', '.join(EXTRACT_KEYS)}",
            )
            continue
        expression = _xpath(check, value, f"extract.{key}")
        if expression is not None:
            values[key] = expression
    return ExtractRules(**values)


def _validate(root: _Value) -> tuple[list[Source], list[Problem]]:
    check = _Validator()
    top = check.mapping(root, None)
    if top is None:
        return [], check.problems
    for key, (key_value, _) in top.items():
        # "x-" keys hold YAML anchors for reuse, as in docker-compose files.
        if key not in _TOP_KEYS and not key.startswith("x-"):
            check.error(
                key_value.line,
                key,
                f"unknown top-level key{_close_match(key, _TOP_KEYS)}; expected 'defaults', 'sources' or x-... anchors",
            )
    defaults: dict[str, tuple[_Value, _Value]] = {}
    if "defaults" in top:
        defaults_value = top["defaults"][1]
        if defaults_value.value is not None:
            defaults = check.mapping(defaults_value, "defaults") or {}
        for key, (key_value, _) in defaults.items():
            if key == "name":
                check.error(key_value.line, "defaults.name", "a name cannot be a default; give each source its own")
            elif key not in _SOURCE_KEYS:
                check.error(key_value.line, f"defaults.{key}", f"unknown key{_close_match(key, _SOURCE_KEYS)}")
        defaults = {k: v for k, v in defaults.items() if k in _SOURCE_KEYS and k != "name"}
    if "sources" not in top:
        check.error(root.line, "sources", "the file has no 'sources:' list")
        return [], check.problems
    sources_value = top["sources"][1]
    if not isinstance(sources_value.value, list) or not sources_value.value:
        check.error(
            sources_value.line, "sources", f"expected a non-empty list of sources, got {_show(sources_value.value)}"
        )
        return [], check.problems

    sources: list[Source] = []
    seen: dict[str, int] = {}
    for item in sources_value.value:
        check.source = None
        raw = check.mapping(item, None)
        if raw is None:
            continue
        source = _build_source(check, raw, defaults, item.line)
        if source is None:
            continue
        first = seen.get(source.name.lower())
        if first is not None:
            check.source = source.name
            check.error(source.line, "name", f"duplicate name; the first source with it is on line {first}")
            continue
        seen[source.name.lower()] = source.line
        sources.append(source)
    return sources, check.problems


def load_sources(path: Path | str) -> SourcesConfig:
    """Read and validate a sources file; raise SourcesError listing every problem.

    A crawl asks for it from several components (the crawl command, the spider's settings
    and construction, the network guard): the file is read and validated once while it
    does not change, and the same frozen configuration is handed to each."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return _read_sources(path)
    return _cached_sources(path.resolve(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _cached_sources(path: Path, mtime_ns: int, size: int) -> SourcesConfig:
    return _read_sources(path)


def _read_sources(path: Path) -> SourcesConfig:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise SourcesError(
            path, [Problem(None, None, None, "file not found (set SOURCES_FILE or create it)")]
        ) from None
    except OSError as exc:
        raise SourcesError(path, [Problem(None, None, None, f"cannot read: {exc.strerror}")]) from None
    if size > MAX_FILE_BYTES:
        raise SourcesError(path, [Problem(None, None, None, f"file is {size} bytes; the limit is {MAX_FILE_BYTES}")])
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourcesError(
            path, [Problem(None, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
        ) from None
    except OSError as exc:
        raise SourcesError(path, [Problem(None, None, None, f"cannot read: {exc.strerror}")]) from None
    parsed = _parse_yaml(path, text)
    if isinstance(parsed, Problem):
        raise SourcesError(path, [parsed])
    if parsed is None:
        raise SourcesError(path, [Problem(None, None, None, "the file is empty; it needs a 'sources:' list")])
    sources, problems = _validate(parsed)
    if problems:
        raise SourcesError(path, problems)
    return SourcesConfig(path=path, sources=tuple(sources))


def select_sources(config: SourcesConfig, names: str | Iterable[str] | None) -> tuple[Source, ...]:
    """The sources a run covers: all enabled ones, or exactly the ``names`` given."""
    if not names:
        return config.enabled
    wanted = [n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()]
    unknown = [n for n in wanted if config.get(n) is None]
    if unknown:
        names = [source.name for source in config.sources]
        raise SourcesError(
            config.path,
            [
                Problem(
                    None, None, None, f"unknown source {n!r}{_close_match(n, names)}; configured: {', '.join(names)}"
                )
                for n in unknown
            ],
        )
    return tuple(source for name in dict.fromkeys(wanted) if (source := config.get(name)) is not None)
