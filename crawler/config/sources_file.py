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

from lxml import etree

from crawler.config.fetch_options import FETCH_KEYS, FetchOptions, build_fetch_options, split_fetch_block
from crawler.config.regex_safety import RegexProblem, check_follow_pattern
from crawler.config.windows import Since, parse_revisits, parse_since
from crawler.config.yaml_lines import Problem, Validator, Value, close_match, read_yaml, show
from crawler.parsing.kinds import DiscoveryKind
from crawler.parsing.urls import host_of

__all__ = [
    "ExtractRules",
    "Listing",
    "Problem",
    "Source",
    "SourcesConfig",
    "SourcesError",
    "load_sources",
    "select_sources",
]

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
    # Headers, cookies, user agent, proxy and browser for every request of the source.
    fetch: FetchOptions = field(default_factory=FetchOptions)
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


class SourcesError(Exception):
    """The sources file (or a source selection) is invalid; ``str()`` is the user message."""

    def __init__(self, path: Path | str, problems: Iterable[Problem]):
        self.path = path
        self.problems = list(problems)
        super().__init__("\n".join(problem.format(path) for problem in self.problems))


# --- validation ---------------------------------------------------------------

_TOP_KEYS = {"defaults", "sources"}


def _language(check: Validator, v: Value, key: str) -> str | None:
    language = check.str_(v, key)
    if language is None:
        return None
    if LANGUAGE_RE.match(language.lower()):
        return language.lower()
    check.error(v.line, key, f"{language!r} is not a two-letter ISO 639-1 code such as uk, ru or en")
    return None


def _urls(check: Validator, v: Value, key: str) -> tuple[str, ...] | None:
    items = check.list_(v, key)
    if items is None:
        return None
    urls = [check.url(item, f"{key}[{i}]", templates=key == "sitemaps") for i, item in enumerate(items)]
    return tuple(dict.fromkeys(url for url in urls if url))


def _since(check: Validator, v: Value, key: str) -> Since | None:
    since = parse_since(v.value)
    if isinstance(since, str):
        check.error(v.line, key, since)
        return None
    return since


def _revisit(check: Validator, v: Value, key: str) -> tuple[float, ...] | None:
    value = [item.value for item in v.value] if isinstance(v.value, list) else v.value
    ages = parse_revisits(value)
    if isinstance(ages, str):
        check.error(v.line, key, ages)
        return None
    return ages


def _listings(check: Validator, v: Value, key: str) -> tuple[Listing, ...] | None:
    items = check.list_(v, key)
    if items is None:
        return None
    listings = (_build_listing(check, item, f"{key}[{i}]") for i, item in enumerate(items))
    return tuple(listing for listing in listings if listing is not None)


def _domains(check: Validator, v: Value, key: str) -> tuple[str, ...] | None:
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


def _extract(check: Validator, v: Value, key: str) -> dict[str, str] | None:
    rules = check.mapping(v, key)
    return None if rules is None else _build_extract(check, rules)


def _delay(check: Validator, v: Value, key: str) -> float | None:
    if isinstance(v.value, (int, float)) and not isinstance(v.value, bool) and 0 <= v.value <= 3600:
        return float(v.value)
    check.error(v.line, key, f"expected seconds between 0 and 3600, got {show(v.value)}")
    return None


def _count(check: Validator, v: Value, key: str) -> int | None:
    if isinstance(v.value, int) and not isinstance(v.value, bool) and v.value >= 1:
        return v.value
    check.error(v.line, key, f"expected a whole number of at least 1, got {show(v.value)}")
    return None


def _follow(check: Validator, v: Value, key: str) -> re.Pattern[str] | None:
    pattern = check.str_(v, key)
    if pattern is None:
        return None
    compiled = check_follow_pattern(pattern)
    if isinstance(compiled, RegexProblem):
        check.error(v.line, key, f"{pattern!r}: {compiled.message}")
        return None
    return compiled


def _flag(check: Validator, v: Value, key: str) -> bool | None:
    return check.bool_(v, key)


# Each source key and the function that validates and converts its value (None: a problem
# was recorded, or there is nothing to keep).
_PARSERS: dict[str, Callable[[Validator, Value, str], Any]] = {
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
_SOURCE_KEYS = {"name", "fetch", *_PARSERS, *FETCH_KEYS}


def _source_name(check: Validator, raw: dict[str, tuple[Value, Value]], line: int) -> str | None:
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
    check: Validator, raw: dict[str, tuple[Value, Value]], defaults: dict[str, tuple[Value, Value]], line: int
) -> Source | None:
    name = _source_name(check, raw, line)
    check.source = name
    raw = split_fetch_block(check, raw, "")
    for key, (key_value, _) in raw.items():
        if key not in _SOURCE_KEYS:
            check.error(key_value.line, key, f"unknown key{close_match(key, _SOURCE_KEYS)}")
    before = len(check.problems)
    kwargs: dict[str, Any] = {}
    for key, (_, value) in {**defaults, **raw}.items():
        parser = _PARSERS.get(key)
        if parser is not None and (parsed := parser(check, value, key)) is not None:
            kwargs[key] = parsed
    if (fetch := build_fetch_options(check, defaults, raw)) is not None:
        kwargs["fetch"] = fetch
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


def _build_listing(check: Validator, item: Value, key: str) -> Listing | None:
    raw = check.mapping(item, key)
    if raw is None:
        return None
    for name, (name_value, _) in raw.items():
        if name not in _LISTING_KEYS:
            check.error(name_value.line, f"{key}.{name}", f"unknown key{close_match(name, _LISTING_KEYS)}")
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


def _xpath(check: Validator, value: Value, key: str) -> str | None:
    expression = check.str_(value, key)
    if expression is None:
        return None
    try:
        etree.XPath(expression)
    except etree.XPathSyntaxError as exc:
        check.error(value.line, key, f"{expression!r} is not a valid XPath expression ({exc})")
        return None
    return expression


def _build_extract(check: Validator, rules: dict[str, tuple[Value, Value]]) -> ExtractRules:
    values: dict[str, str] = {}
    for key, (key_value, value) in rules.items():
        if key not in EXTRACT_KEYS:
            check.error(
                key_value.line,
                f"extract.{key}",
                f"unknown key{close_match(key, EXTRACT_KEYS)}; use one of {', '.join(EXTRACT_KEYS)}",
            )
            continue
        expression = _xpath(check, value, f"extract.{key}")
        if expression is not None:
            values[key] = expression
    return ExtractRules(**values)


def _validate(root: Value) -> tuple[list[Source], list[Problem]]:
    check = Validator()
    top = check.mapping(root, None)
    if top is None:
        return [], check.problems
    for key, (key_value, _) in top.items():
        # "x-" keys hold YAML anchors for reuse, as in docker-compose files.
        if key not in _TOP_KEYS and not key.startswith("x-"):
            check.error(
                key_value.line,
                key,
                f"unknown top-level key{close_match(key, _TOP_KEYS)}; expected 'defaults', 'sources' or x-... anchors",
            )
    defaults: dict[str, tuple[Value, Value]] = {}
    if "defaults" in top:
        defaults_value = top["defaults"][1]
        if defaults_value.value is not None:
            defaults = check.mapping(defaults_value, "defaults") or {}
        for key, (key_value, _) in defaults.items():
            if key == "name":
                check.error(key_value.line, "defaults.name", "a name cannot be a default; give each source its own")
            elif key not in _SOURCE_KEYS:
                check.error(key_value.line, f"defaults.{key}", f"unknown key{close_match(key, _SOURCE_KEYS)}")
        defaults = {k: v for k, v in defaults.items() if k in _SOURCE_KEYS and k != "name"}
        defaults = split_fetch_block(check, defaults, "defaults.")
    if "sources" not in top:
        check.error(root.line, "sources", "the file has no 'sources:' list")
        return [], check.problems
    sources_value = top["sources"][1]
    if not isinstance(sources_value.value, list) or not sources_value.value:
        check.error(
            sources_value.line, "sources", f"expected a non-empty list of sources, got {show(sources_value.value)}"
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
    parsed = read_yaml(path, "file not found (set SOURCES_FILE or create it)")
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
                    None, None, None, f"unknown source {n!r}{close_match(n, names)}; configured: {', '.join(names)}"
                )
                for n in unknown
            ],
        )
    return tuple(source for name in dict.fromkeys(wanted) if (source := config.get(name)) is not None)
