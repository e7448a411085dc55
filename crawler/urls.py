"""URL hygiene: validation, tracking-parameter removal, identity and ids."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, safe_url_string

__all__ = [
    "MAX_URL_LENGTH",
    "article_id",
    "clean_url",
    "host_of",
    "is_public_http_url_syntax",
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
