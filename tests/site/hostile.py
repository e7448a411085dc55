"""A loopback site that mixes good articles with hostile and broken endpoints.

Every good article must come out of a crawl; nothing else may. ``good`` maps
paths to a phrase the article text must contain; ``bad`` maps paths to the
reason the crawl should give for refusing them.
"""

from __future__ import annotations

import gzip
import socket
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.site.server import Site
from tests.site.walls import WALLS

BODY = [
    "Верховна Рада ухвалила закон про державний бюджет на наступний рік після тривалих дебатів у сесійній залі.",
    "Згідно з документом, видатки на оборону зростуть, а соціальні програми збережуть попереднє фінансування.",
    "Опозиція критикувала окремі положення, однак більшість депутатів підтримала законопроєкт у цілому.",
]


def article(title: str, extra: str = "", charset_meta: str = "", lang: str = "uk") -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in BODY)
    return (
        f"<html lang='{lang}'><head>{charset_meta}<title>{title}</title>"
        "<meta property='article:published_time' content='2025-06-01T10:00:00+03:00'></head>"
        f"<body><article><h1>{title}</h1>{extra}{paragraphs}</article></body></html>"
    )


RUSSIAN = (
    "<html><head>{meta}<title>Новости</title></head><body><article><h1>Правительство объявило о мерах</h1>"
    "<p>Правительство России объявило о новых мерах поддержки экономики страны после заседания кабинета.</p>"
    "<p>Эксперты считают, что эти решения помогут малому бизнесу пережить трудный период в ближайшие месяцы.</p>"
    "<p>Министерство финансов сообщило, что средства будут выделены из резервного фонда федерального бюджета.</p>"
    "</article></body></html>"
)


@dataclass
class HostileSite:
    site: Site
    good: dict[str, str] = field(default_factory=dict)
    bad: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.site.url(path)


def _send(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes = b"") -> None:
    request.send_response(status)
    for name, value in headers.items():
        request.send_header(name, value)
    request.end_headers()
    if body:
        request.wfile.write(body)


def build_hostile_site(site: Site) -> HostileSite:
    hostile = HostileSite(site)
    port = site.url("/").split(":")[2].split("/")[0]

    # --- good articles ------------------------------------------------------------------
    site.add("/good/plain.html", article("Парламент ухвалив бюджет"))
    hostile.good["/good/plain.html"] = "Верховна Рада ухвалила закон"
    site.add(
        "/good/cp1251-meta.html",
        article("Бюджет у windows-1251", charset_meta="<meta charset='windows-1251'>").encode("cp1251"),
        content_type="text/html",
    )
    hostile.good["/good/cp1251-meta.html"] = "видатки на оборону"
    site.add("/good/cp1251-none.html", article("Бюджет без кодування").encode("cp1251"), content_type="text/html")
    hostile.good["/good/cp1251-none.html"] = "більшість депутатів"
    site.add(
        "/good/koi8-misdeclared.html",
        RUSSIAN.format(meta="").encode("koi8_r"),
        content_type="text/html; charset=windows-1251",
    )
    hostile.good["/good/koi8-misdeclared.html"] = "Правительство России объявило"
    site.add("/good/utf8-as-latin1.html", article("Бюджет у UTF-8"), content_type="text/html; charset=iso-8859-1")
    hostile.good["/good/utf8-as-latin1.html"] = "соціальні програми"
    nasty = "Заголовок\x00 з\x07 керівними \x1b символами"
    site.add(
        "/good/control-chars.html",
        article(nasty, extra="<p>Текст з NUL\x00 і &#xD800; самотнім сурогатом та &#x1; символом.</p>"),
    )
    hostile.good["/good/control-chars.html"] = "самотнім сурогатом"
    # The same article as an AMP variant and under tracking parameters: one record.
    canonical = f"<link rel='canonical' href='{site.url('/good/canonical.html')}'>"
    site.add("/good/canonical.html", article("Канонічна стаття", charset_meta=canonical))
    site.add("/good/canonical.amp.html", article("Канонічна стаття", charset_meta=canonical))
    hostile.good["/good/canonical.html"] = "Опозиція критикувала"

    # --- XML attacks and broken discovery documents ---------------------------------------
    laughs = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    site.add(
        "/x/billion-laughs.xml",
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">{laughs}]>'
        f"<rss version='2.0'><channel><item><title>&lol9;</title><link>{site.url('/good/plain.html')}</link></item></channel></rss>",
        content_type="application/rss+xml",
    )
    big = "A" * 100_000
    site.add(
        "/x/quadratic.xml",
        f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY a "{big}">]>'
        "<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        f"<url><loc>{site.url('/good/cp1251-meta.html')}</loc><lastmod>{'&a;' * 20000}</lastmod></url></urlset>",
        content_type="application/xml",
    )
    site.add(
        "/x/xxe.xml",
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">'
        f'<!ENTITY net SYSTEM "{site.url("/xxe-probe")}">]>'
        f"<rss version='2.0'><channel><item><title>&xxe;&net;</title><link>{site.url('/good/cp1251-none.html')}</link>"
        "<description>&xxe;</description></item></channel></rss>",
        content_type="application/rss+xml",
    )
    site.add("/xxe-probe", "PROBE-SHOULD-NEVER-BE-FETCHED", content_type="text/plain")
    truncated = (
        f"<rss version='2.0'><channel><item><title>a</title><link>{site.url('/good/koi8-misdeclared.html')}</link></item>"
        f"<item><title>b</title><link>{site.url('/good/utf8-as-latin1.html')}</link></item><item><title>c</title><li"
    )
    site.add("/x/truncated.xml", truncated, content_type="application/rss+xml")
    site.add("/x/garbage.xml", bytes(range(256)) * 50, content_type="application/rss+xml")
    site.add(
        "/x/self-index.xml",
        "<sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        f"<sitemap><loc>{site.url('/x/self-index.xml')}</loc></sitemap>"
        f"<sitemap><loc>{site.url('/x/links.xml')}</loc></sitemap></sitemapindex>",
        content_type="application/xml",
    )
    # Links of every kind: relative, javascript:, mailto:, ftp:, file:, invalid; AMP and tracking variants.
    links = [
        "/good/control-chars.html",
        "javascript:alert(1)",
        "mailto:desk@example.org",
        "ftp://127.0.0.1/file",
        "file:///etc/passwd",
        "http://[invalid",
        "/good/canonical.html?utm_source=x&fbclid=y",
        "/good/canonical.amp.html",
        "/private/secret.html",
        # Bad article endpoints, below.
        *[
            f"/bad/{name}"
            for name in (
                "pdf",
                "png",
                "app-shell",
                "cloudflare",
                "cookie-wall",
                *WALLS,
                "soft-404",
                "404",
                "500",
                "reset",
                "huge",
                "ce-gzip-bomb",
                "ce-deflate-bomb",
                "hang",
                "trickle",
                "redirect-loop",
                "redirect-metadata",
                "redirect-localhost",
                "redirect-file",
            )
        ],
        f"http://localhost:{port}/good/plain.html?via=localhost",
        "http://10.255.255.1/internal.html",
        "http://169.254.169.254/latest/meta-data/",
    ]
    site.add(
        "/x/links.xml",
        "<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        + "".join(f"<url><loc>{link.replace('&', '&amp;')}</loc></url>" for link in links)
        + "</urlset>",
        content_type="application/xml",
    )
    bomb = gzip.compress(b"<urlset>" + b" " * (200 * 1024 * 1024) + b"</urlset>", compresslevel=9)
    site.add("/x/bomb.xml.gz", bomb, content_type="application/x-gzip")

    # --- bad article endpoints -----------------------------------------------------------------
    site.add("/bad/pdf", b"%PDF-1.7\n" + b"\x00" * 2000, content_type="application/pdf")
    hostile.bad["/bad/pdf"] = "not_html"
    site.add("/bad/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000, content_type="text/html")
    hostile.bad["/bad/png"] = "not_html"
    site.add(
        "/bad/app-shell",
        "<html><head><title>News</title></head><body><div id='root'></div><script src='/app.js'></script></body></html>",
    )
    hostile.bad["/bad/app-shell"] = "no_article"
    site.add(
        "/bad/cloudflare",
        "<html><head><title>Attention Required! | Cloudflare</title></head><body><div id='cf-error-details'>Sorry, you have been blocked</div></body></html>",
    )
    hostile.bad["/bad/cloudflare"] = "blocked"
    site.add(
        "/bad/cookie-wall",
        "<html><head><title>Cookies</title></head><body><div class='consent'><p>Ми використовуємо файли cookie. Погодитися?</p><button>OK</button></div></body></html>",
    )
    hostile.bad["/bad/cookie-wall"] = "no_article"
    for name, html in WALLS.items():
        site.add(f"/bad/{name}", html)
        hostile.bad[f"/bad/{name}"] = "no_article"
    site.add(
        "/bad/soft-404",
        "<html><head><title>404 Сторінку не знайдено</title></head><body><h1>Сторінку не знайдено</h1><p>Можливо, її видалили.</p></body></html>",
    )
    hostile.bad["/bad/soft-404"] = "blocked"
    site.add("/bad/404", "<html><body>not here</body></html>", status=404)
    hostile.bad["/bad/404"] = "http_404"
    site.add("/bad/500", "<html><body>boom</body></html>", status=500)
    hostile.bad["/bad/500"] = "http_500"

    def reset(request: BaseHTTPRequestHandler) -> None:
        request.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        request.connection.close()
        request.close_connection = True

    site.handle("/bad/reset", reset)
    hostile.bad["/bad/reset"] = "connection"
    huge = (article("Величезна сторінка", extra="<p>" + "слово " * 3_000_000 + "</p>")).encode()
    site.add("/bad/huge", huge)
    hostile.bad["/bad/huge"] = "too_large"
    ce_gzip = gzip.compress(b"<html><body><p>" + b"a" * (100 * 1024 * 1024) + b"</p></body></html>", compresslevel=9)
    site.add("/bad/ce-gzip-bomb", ce_gzip, headers={"Content-Encoding": "gzip"})
    hostile.bad["/bad/ce-gzip-bomb"] = "too_large"
    ce_deflate = zlib.compress(b"<html><body><p>" + b"b" * (100 * 1024 * 1024) + b"</p></body></html>", 9)
    site.add("/bad/ce-deflate-bomb", ce_deflate, headers={"Content-Encoding": "deflate"})
    hostile.bad["/bad/ce-deflate-bomb"] = "too_large"

    def hang(request: BaseHTTPRequestHandler) -> None:
        time.sleep(60)

    site.handle("/bad/hang", hang)
    hostile.bad["/bad/hang"] = "timeout"

    def trickle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/html")
        request.end_headers()
        for _ in range(120):
            request.wfile.write(b"<p>.")
            request.wfile.flush()
            time.sleep(0.5)

    site.handle("/bad/trickle", trickle)
    hostile.bad["/bad/trickle"] = "timeout"
    site.add(
        "/bad/redirect-loop", b"", status=302, headers={"Location": site.url("/bad/redirect-loop")}, conditional=False
    )
    hostile.bad["/bad/redirect-loop"] = "redirect_loop"
    site.add(
        "/bad/redirect-metadata",
        b"",
        status=302,
        headers={"Location": "http://169.254.169.254/latest/meta-data/"},
        conditional=False,
    )
    hostile.bad["/bad/redirect-metadata"] = "private_address"
    site.add(
        "/bad/redirect-localhost",
        b"",
        status=302,
        headers={"Location": f"http://localhost:{port}/xxe-probe"},
        conditional=False,
    )
    hostile.bad["/bad/redirect-localhost"] = "private_address"
    site.add("/bad/redirect-file", b"", status=302, headers={"Location": "file:///etc/passwd"}, conditional=False)
    hostile.bad["/bad/redirect-file"] = "scheme"
    site.add("/private/secret.html", article("Таємниця"))
    hostile.bad["/private/secret.html"] = "robots_txt"
    site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    return hostile


def hostile_sources_yaml(hostile: HostileSite) -> str:
    site = hostile.site
    return f"""
sources:
  - name: xmlattacks
    language: uk
    feeds: [{site.url("/x/billion-laughs.xml")}, {site.url("/x/xxe.xml")}, {site.url("/x/truncated.xml")}, {site.url("/x/garbage.xml")}]
    sitemaps: [{site.url("/x/quadratic.xml")}, {site.url("/x/bomb.xml.gz")}]
  - name: everything
    language: uk
    sitemaps: [{site.url("/x/self-index.xml")}]
    allowed_domains: [127.0.0.1, localhost, 10.255.255.1, 169.254.169.254]
"""
