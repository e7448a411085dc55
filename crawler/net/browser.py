"""Article pages rendered in headless Chromium, through scrapy-playwright, and kept bounded.

Some outlets build the article with JavaScript or answer first with a script challenge.
For their sources (``render: true`` or ``auto``) a page is loaded in a real browser and its
DOM, once the network is quiet, goes on to extraction like any page. Long browser runs
are known to grow and hang (scrapy-playwright #126, #240, #133), so:

- at most RENDER_CONCURRENCY pages at once (2);
- each source's pages share a browser context that is closed after RENDER_CONTEXT_PAGES
  pages (its caches, cookies set by scripts and leaks go with it);
- the browser is restarted, between pages, once its processes hold more than
  RENDER_MEMORY_MB;
- a page has RENDER_TIMEOUT seconds to load, RENDER_SETTLE more for its scripts' requests.

Every connection the browser makes goes through a guard proxy on loopback
(crawler/net/guard_proxy.py), one per source, which applies the network guard and chains
to the source's own proxy. Images, media and fonts are not loaded: text needs none.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import shutil
import time
from collections import Counter
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from playwright.async_api import Request as PlaywrightRequest
from playwright.async_api import Response as PlaywrightResponse
from playwright.async_api import TimeoutError as PlaywrightTimeout
from scrapy.crawler import Crawler
from scrapy.http import Request, Response
from scrapy_playwright.handler import Config, ScrapyPlaywrightDownloadHandler
from scrapy_playwright.page import PageMethod

from crawler import settings as defaults
from crawler.config.sources_file import Source
from crawler.net.failures import RenderError, RenderTimeoutError
from crawler.net.guard import allowed_hosts
from crawler.net.guard_proxy import GuardProxy, Upstream
from crawler.net.source_fetch import proxy_credentials
from crawler.parsing.records import MIN_TEXT_CHARS
from crawler.parsing.walls import SCRIPT_CHALLENGES
from crawler.stats import Count, SourceStats

__all__ = ["BrowserRenderer", "RenderSettings", "browser_memory_mb"]

logger = logging.getLogger(__name__)

# Chromium's own traffic (updates, sync, safe browsing, metrics) and UDP around the proxy
# (WebRTC) stay off: the browser talks only to the pages' sites, through the guard proxy.
# (No --disable-features here: a second one would replace Playwright's list.) What Chromium
# still sends by itself (account, GCM and clock checks) goes to the browser-wide proxy, a
# closed door; the pages' requests go to their context's proxy.
_CHROMIUM_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-first-run",
    "--no-pings",
    "--dns-prefetch-disable",
    "--disable-dev-shm-usage",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)
# Pages between two looks at the browser's memory.
_MEMORY_EVERY = 1
_SCHEMES = ("http:", "https:", "data:", "blob:", "about:")
_CONDITIONAL = (b"If-None-Match", b"If-Modified-Since")
_TEXT_LENGTH = "document.body ? document.body.innerText.length : 0"


@dataclasses.dataclass(frozen=True, slots=True)
class RenderSettings:
    executable: str | None
    concurrency: int
    context_pages: int
    memory_mb: int
    timeout: float
    settle: float
    block: frozenset[str]

    @classmethod
    def from_settings(cls, settings: Any) -> RenderSettings:
        browser = settings.get("RENDER_BROWSER", defaults.RENDER_BROWSER) or ""
        executable = shutil.which(browser or "chromium")
        if browser and executable is None:
            logger.warning("RENDER_BROWSER %r is not an executable; trying Playwright's own Chromium", browser)
        return cls(
            executable=executable,
            concurrency=max(1, settings.getint("RENDER_CONCURRENCY", defaults.RENDER_CONCURRENCY)),
            context_pages=max(1, settings.getint("RENDER_CONTEXT_PAGES", defaults.RENDER_CONTEXT_PAGES)),
            memory_mb=max(64, settings.getint("RENDER_MEMORY_MB", defaults.RENDER_MEMORY_MB)),
            timeout=max(1.0, settings.getfloat("RENDER_TIMEOUT", defaults.RENDER_TIMEOUT)),
            settle=max(0.0, settings.getfloat("RENDER_SETTLE", defaults.RENDER_SETTLE)),
            block=frozenset(settings.getlist("RENDER_BLOCK", defaults.RENDER_BLOCK)),
        )


def _descendants(root: int) -> list[int]:
    found, index = [root], 0
    while index < len(found):
        for task in Path(f"/proc/{found[index]}/task").glob("*"):
            try:
                found.extend(int(child) for child in (task / "children").read_text().split())
            except OSError:
                continue  # the task ended while listed
        index += 1
    return found[1:]


def browser_memory_mb(root: int | None = None) -> float:
    """The proportional memory (PSS) of the Chromium processes under this process, in MiB."""
    total_kb = 0
    for pid in _descendants(root or os.getpid()):
        try:
            if not Path(f"/proc/{pid}/comm").read_text().startswith(("chrom", "headless")):
                continue
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
                    break
        except OSError:
            continue  # exited between the listing and the read
    return total_kb / 1024


async def _settle(page: Page, milliseconds: float, challenge_seconds: float) -> int | None:
    """Wait for the page's scripts to finish their requests (the article's data), up to a limit
    (a page that keeps polling is read as it stands then), and for a script challenge to
    pass, up to ``challenge_seconds``. The status of the last document the page went on to (a
    challenge reloads into the article), None when it stayed on the first."""
    statuses: list[int] = []

    def navigated(response: PlaywrightResponse) -> None:
        if response.frame == page.main_frame and response.request.is_navigation_request():
            statuses.append(response.status)

    page.on("response", navigated)
    deadline = time.monotonic() + challenge_seconds
    try:
        while True:
            await _quiet(page, milliseconds)
            await _text_settled(page, time.monotonic() + milliseconds / 1000)
            try:
                title = await page.title()
            except PlaywrightError:  # between two documents
                title = "just a moment"
            if not SCRIPT_CHALLENGES.search(title) or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.25)
    finally:
        page.remove_listener("response", navigated)
    return statuses[-1] if statuses else None


async def _text_settled(page: Page, deadline: float) -> None:
    """Wait until the page holds an article's worth of text that stopped growing, up to
    ``deadline``: a script may start building the article after the network went quiet
    (a busy machine, a timer), and a shell read then is no article."""
    last = -1
    while time.monotonic() < deadline:
        try:
            length = await page.evaluate(_TEXT_LENGTH)
        except PlaywrightError:  # between two documents
            length = -1
        if length == last and length >= MIN_TEXT_CHARS:
            return
        last = length
        await asyncio.sleep(0.1)


async def _quiet(page: Page, milliseconds: float) -> None:
    try:
        await page.wait_for_load_state("networkidle", timeout=milliseconds)
    except PlaywrightTimeout:
        logger.debug("Render: %s still loading after %.0f ms; read as it stands", page.url, milliseconds)


def _cookie_domain(domain: str) -> str:
    try:
        ip_address(domain)
    except ValueError:
        return "." + domain
    return domain


class BrowserRenderer(ScrapyPlaywrightDownloadHandler):
    """scrapy-playwright's handler, asked only for the requests to render
    (crawler/net/render_handler.py), with the bounds above."""

    def __init__(self, crawler: Crawler, sources: dict[str, Source]):
        super().__init__(crawler)
        self.sources = sources
        self.limits = RenderSettings.from_settings(crawler.settings)
        self.config = self._playwright_config()
        self.abort_request = self._skip
        self.source_stats = SourceStats(crawler)
        self.allowed = allowed_hosts(crawler.settings)
        self._slots = asyncio.Semaphore(self.limits.concurrency)
        self._idle = asyncio.Condition()
        self._restarting = asyncio.Lock()
        self._in_flight = 0
        self._restart_due = False
        self._proxies: dict[str, GuardProxy] = {}
        self._door = GuardProxy.closed(self._refused_own)
        self._generation: Counter[str] = Counter()
        self._used: Counter[str] = Counter()  # pages begun in each source's current context
        self._open: Counter[str] = Counter()  # pages under way in each context
        self._retired: set[str] = set()
        self._pages = 0
        self._shut = False

    def _playwright_config(self) -> Config:
        launch: dict[str, Any] = {"headless": True, "args": list(_CHROMIUM_ARGS), "timeout": 60_000}
        if self.limits.executable:
            launch["executable_path"] = self.limits.executable
        return dataclasses.replace(
            self.config,
            browser_type_name="chromium",
            launch_options={**launch, **self.config.launch_options},
            # Pages are bounded by RENDER_CONCURRENCY; a context never makes a page wait.
            max_pages_per_context=4 * self.limits.concurrency,
            navigation_timeout_ms=self.limits.timeout * 1000,
            restart_disconnected_browser=True,
        )

    def _skip(self, request: PlaywrightRequest) -> bool:
        """Not loaded: images, media and fonts (RENDER_BLOCK), and schemes no site page needs."""
        if request.resource_type in self.limits.block:
            return True
        return not request.url.startswith(_SCHEMES)

    async def render(self, request: Request) -> Response:
        source = self.sources.get(request.meta.get("source") or "")
        if source is None:
            raise RenderError(f"no source renders {request.url}")
        if "proxy" not in self.config.launch_options:
            # Read by the browser provider when it launches the browser, at the first page.
            self.config.launch_options["proxy"] = {"server": await self._door.start()}
        async with self._slots:
            await self._restart_if_due()
            # Counted from here: a restart waits for every page past this point.
            self._in_flight += 1
            name = self._context_for(source.name)
            self._open[name] += 1
            started, ok = time.monotonic(), False
            try:
                await self._prepare(request, source, name)
                response = await self._download(request, source.name)
                ok = True
            finally:
                self._in_flight -= 1
                self._open[name] -= 1
                await self._after_page(source.name, time.monotonic() - started, ok)
        return response

    async def _download(self, request: Request, source: str) -> Response:
        limit = 2 * self.limits.timeout + self.limits.settle + 10
        try:
            response = await asyncio.wait_for(super().download_request(request), limit)
        except (TimeoutError, PlaywrightTimeout) as exc:
            # A page cancelled mid-way may stay open: its context is closed once idle.
            self._retire(source)
            raise RenderTimeoutError(f"rendering {request.url} took over {self.limits.timeout:g} s") from exc
        except PlaywrightError as exc:
            raise RenderError(f"the browser failed on {request.url}: {exc.message}") from exc
        # The answer is the document the page ended on: a challenge's 503 reloads into a 200.
        final = request.meta["playwright_page_methods"][0].result
        return response if final is None or final == response.status else response.replace(status=final)

    async def _prepare(self, request: Request, source: Source, name: str) -> None:
        proxy = await self._guard_proxy(source)
        # The browser reaches the source's proxy through the guard proxy, with the credentials
        # there: none may travel in the page's own request (inside a TLS tunnel, to the site).
        request.headers.pop(b"Proxy-Authorization", None)
        # A browser with no cache of its own aborts a navigation answered 304: a rendered
        # revisit asks for the whole page.
        for header in _CONDITIONAL:
            request.headers.pop(header, None)
        request.meta.update(
            {
                "playwright": True,
                "playwright_context": name,
                "playwright_context_kwargs": self._context_kwargs(source, request, proxy),
                "playwright_page_goto_kwargs": {"wait_until": "load", "timeout": self.limits.timeout * 1000},
                "playwright_page_methods": [PageMethod(_settle, self.limits.settle * 1000, self.limits.timeout)],
            }
        )

    def _context_kwargs(self, source: Source, request: Request, proxy: str) -> dict[str, Any]:
        options = source.fetch
        cookies = [
            {"name": name, "value": value, "domain": _cookie_domain(domain), "path": "/"}
            for domain in source.allowed_domains
            for name, value in options.cookies
        ]
        kwargs: dict[str, Any] = {
            # "<-loopback>": loopback addresses go through the proxy too (Chromium skips it for them).
            "proxy": {"server": proxy, "bypass": "<-loopback>"},
            "service_workers": "block",
            "accept_downloads": False,
            "extra_http_headers": dict(options.headers),
            "storage_state": {"cookies": cookies, "origins": []},
        }
        if agent := request.headers.get("User-Agent"):
            kwargs["user_agent"] = agent.decode("latin-1")
        return kwargs

    async def _guard_proxy(self, source: Source) -> str:
        proxy = self._proxies.get(source.name)
        if proxy is None:
            upstream = None
            if source.fetch.proxy is not None:
                credentials = proxy_credentials(source.fetch.proxy, os.environ)
                upstream = Upstream.of(source.fetch.proxy.url, credentials)
            proxy = self._proxies[source.name] = GuardProxy(self.allowed, upstream, self._refused_by(source.name))
        return await proxy.start()

    def _refused_own(self, host: str, reason: str) -> None:
        self.stats.inc_value("render/browser_own_requests_refused")

    def _refused_by(self, source: str) -> Any:
        def refused(host: str, reason: str) -> None:
            self.source_stats.inc(source, Count.RENDER_REFUSED)
            self.stats.inc_value(f"network/refused/browser_{reason}")

        return refused

    def _context_for(self, source: str) -> str:
        if self._used[source] >= self.limits.context_pages:
            self._retire(source)
        self._used[source] += 1
        return f"{source}#{self._generation[source]}"

    def _retire(self, source: str) -> None:
        self._retired.add(f"{source}#{self._generation[source]}")
        self._generation[source] += 1
        self._used[source] = 0

    async def _close_context(self, name: str) -> None:
        self._retired.discard(name)
        self._open.pop(name, None)
        wrapper = self.context_wrappers.get(name)
        if wrapper is None:
            return
        try:
            await wrapper.context.close()
        except PlaywrightError as exc:
            logger.debug("Render: closing context %s: %s", name, exc.message)
        self.stats.inc_value("render/contexts_recycled")

    async def _after_page(self, source: str, seconds: float, ok: bool) -> None:
        self.source_stats.inc(source, Count.RENDERED if ok else Count.RENDER_FAILED)
        self.source_stats.inc(source, Count.RENDER_MS, round(seconds * 1000))
        self._pages += 1
        for name in [name for name in self._retired if self._open[name] == 0]:
            await self._close_context(name)
        if self._pages % _MEMORY_EVERY == 0:
            used = await asyncio.to_thread(browser_memory_mb)
            self.stats.max_value("render/browser_mib_max", round(used))
            if used > self.limits.memory_mb and not self._restart_due:
                logger.info(
                    "Render: the browser holds %.0f MiB (RENDER_MEMORY_MB %d); restarting it",
                    used,
                    self.limits.memory_mb,
                )
                self._restart_due = True
        async with self._idle:
            self._idle.notify_all()

    async def _restart_if_due(self) -> None:
        """Close the browser between pages once it is over its memory; the next page starts
        a new one (scrapy-playwright relaunches a browser that disconnected)."""
        if not self._restart_due:
            return
        async with self._restarting:
            if not self._restart_due:
                return  # another page restarted it while this one waited
            async with self._idle:
                await self._idle.wait_for(lambda: self._in_flight == 0)
            await self._restart()
            self._restart_due = False

    async def _restart(self) -> None:
        browser = getattr(self, "browser", None)
        if browser is not None:
            try:
                await browser.close()
            except PlaywrightError as exc:
                logger.warning("Render: closing the browser for a restart: %s", exc.message)
            for _ in range(100):  # scrapy-playwright's disconnect callback forgets it
                if not hasattr(self, "browser"):
                    break
                await asyncio.sleep(0.05)
        self._retired.clear()
        self._open.clear()
        self._used.clear()
        self.stats.inc_value("render/browser_restarts")

    async def shut(self) -> None:
        """Close the browser and the guard proxies (once: both scheme handlers ask)."""
        if self._shut:
            return
        self._shut = True
        for proxy in (*self._proxies.values(), self._door):
            await proxy.close()
        await self.close()
