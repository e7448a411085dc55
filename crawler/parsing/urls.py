"""URL hygiene: validation, tracking-parameter removal, identity and ids."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from courlan import extract_domain
from w3lib.url import canonicalize_url, safe_url_string

__all__ = [
    "MAX_URL_LENGTH",
    "CleanParam",
    "article_id",
    "clean_url",
    "drop_clean_params",
    "host_of",
    "is_public_http_url_syntax",
    "parse_clean_params",
    "site_of",
    "url_key",
]

# Longer URLs are junk or attacks; browsers and CDNs commonly cap near 2 KB.
MAX_URL_LENGTH = 2048

# Query parameters that only track where a click came from. Deliberately
# conservative: a parameter that might select the article stays.
_TRACKING_RE = re.compile(
    r"^(?:utm_\w+|fbclid|gclid|gclsrc|dclid|yclid|msclkid|mc_cid|mc_eid|igshid|_ga|_gl|"
    r"_hsenc|_hsmi|mkt_tok|oly_anon_id|oly_enc_id|vero_id|wt_mc|wt\.mc_id|ito|"
    r"cmpid|ns_campaign|ns_mchannel|ns_source|ns_linkname|ns_fee|__twitter_impression|"
    r"at_medium|at_campaign|at_custom\d*|rss|from|ref|ref_src|smid|sr_share|share|"
    # Yandex and Russian/Ukrainian outlets' own (their robots.txt Clean-param lines).
    r"ysclid|erid|fromtg|nw|_openstat)$",
    re.IGNORECASE,
)
_AMP_PARAMS = frozenset({"amp", "outputtype", "amp_js_v", "usqp"})


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def is_public_http_url_syntax(url: str) -> str | None:
    """Why ``url`` is not an absolute http(s) URL, or None when it is one."""
    if len(url) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters"
    if any(ch.isspace() for ch in url):
        return "contains whitespace"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return str(exc)
    if parts.scheme.lower() not in ("http", "https"):
        return "only http:// and https:// URLs can be crawled"
    if not parts.hostname:
        return "no host name"
    if port == 0:
        return "port 0"
    if parts.username or parts.password:
        return "credentials in URLs are not supported"
    return None


def clean_url(url: str) -> str:
    """``url`` as it should be requested: no fragment, no tracking or AMP parameters."""
    url = safe_url_string(url.strip())
    parts = urlsplit(url)
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(key, value) for key, value in pairs if not _TRACKING_RE.match(key) and key.lower() not in _AMP_PARAMS]
        if len(kept) != len(pairs):
            query = urlencode(kept, safe="/:,")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", query, ""))


def url_key(url: str) -> str:
    """Identity of a URL for de-duplication: http/https, ``www.``, ports and order don't matter."""
    canonical = canonicalize_url(clean_url(url))
    parts = urlsplit(canonical)
    host = (parts.hostname or "").removeprefix("www.")
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("", host, path, parts.query, ""))


def article_id(canonical_url: str) -> str:
    """Stable article id derived from its canonical URL."""
    return hashlib.blake2b(url_key(canonical_url).encode("utf-8"), digest_size=10).hexdigest()


# --- the sites' own rules: robots.txt Clean-param ------------------------------------------

# Yandex's syntax: "Clean-param: p0[&p1&..&pn] [path]"; a path is a prefix of up to 500
# characters from A-Za-z0-9.-/*_, where * stands for any characters.
_CLEAN_PARAM = re.compile(r"^\s*clean-param\s*:\s*(?P<params>[^\s#]+)(?:\s+(?P<path>[^\s#]+))?", re.IGNORECASE)
_PATH_CHARS = re.compile(r"^[A-Za-z0-9.\-/*_%]{1,500}$")
MAX_CLEAN_PARAM_RULES = 200


@dataclass(frozen=True, slots=True)
class CleanParam:
    """A site's word that ``params`` do not change what pages under ``path`` show."""

    params: frozenset[str]
    path: str = "/"

    def applies_to(self, path: str) -> bool:
        if "*" not in self.path:
            return path.startswith(self.path)
        return re.match(".*".join(re.escape(part) for part in self.path.split("*")), path) is not None


def parse_clean_params(robots_txt: str) -> tuple[CleanParam, ...]:
    """The Clean-param rules of a robots.txt (they hold for every user agent's group)."""
    rules: list[CleanParam] = []
    for line in robots_txt.splitlines():
        match = _CLEAN_PARAM.match(line)
        if match is None:
            continue
        params = frozenset(p for p in match.group("params").split("&") if p and len(p) <= 100)
        path = match.group("path") or "/"
        if params and _PATH_CHARS.match(path):
            rules.append(CleanParam(params, path))
        if len(rules) >= MAX_CLEAN_PARAM_RULES:
            break
    return tuple(rules)


def drop_clean_params(url: str, rules: tuple[CleanParam, ...]) -> str:
    """``url`` without the query parameters its site's Clean-param rules call meaningless."""
    if not rules:
        return url
    parts = urlsplit(url)
    if not parts.query:
        return url
    dropped = {param for rule in rules if rule.applies_to(parts.path or "/") for param in rule.params}
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(key, value) for key, value in pairs if key not in dropped]
    if len(kept) == len(pairs):
        return url
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept, safe="/:,"), parts.fragment))


@lru_cache(maxsize=4096)
def site_of(host: str) -> str:
    """The registrable domain of a host (war.obozrevatel.com -> obozrevatel.com), else the host."""
    return extract_domain(f"http://{host}/", fast=True) or host


# <link ... rel="canonical" ... href="..."> in the bytes of a page's head: the declared canonical
# link read without parsing the page (a backfill skips a copy of an article it has already).
_LINK_TAG = re.compile(rb"<link\b[^>]*>", re.IGNORECASE)
_REL_CANONICAL = re.compile(rb"""\brel\s*=\s*(?:"canonical"|'canonical'|canonical(?=[\s/>]))""", re.IGNORECASE)
_HREF = re.compile(rb"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
HEAD_BYTES = 65536


def declared_canonical(body: bytes, url: str) -> str | None:
    """The canonical URL a page declares in its first ``<link rel="canonical">``, by the rules of
    the extractor's (crawler/parsing/article.py): absolute, public, not a front page, cleaned.
    None when the page declares none that counts (the extractor then falls back further)."""
    for tag in _LINK_TAG.finditer(body, 0, HEAD_BYTES):
        if not _REL_CANONICAL.search(tag.group(0)):
            continue
        found = _HREF.search(tag.group(0))
        if found is None:
            return None
        href = next(group for group in found.groups() if group is not None).decode("utf-8", "replace").strip()
        absolute = urljoin(url, html.unescape(href))
        if is_public_http_url_syntax(absolute) is None and urlsplit(absolute).path.strip("/"):
            return clean_url(absolute)
        return None
    return None
