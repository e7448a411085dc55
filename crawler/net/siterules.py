"""The sites' own URL rules, learned from the robots.txt files the crawl reads anyway.

Russian and Ukrainian outlets name the query parameters that only track a click
in their robots.txt, with Yandex's ``Clean-param`` directive (RBC: ``from``,
``fromtg``, ``nw``, ``erid``, …). Two links that differ only in such parameters
are one page; requesting both costs the site twice and emits the article twice.
A downloader middleware sees every robots.txt response that Scrapy's
RobotsTxtMiddleware asks for, keeps its rules, and cleans links with them before
they become URL keys and canonical URLs. A site's rules hold for all its hosts
(articles on war.obozrevatel.com are cleaned by what www.obozrevatel.com says),
and they are stored in the state database, so a run applies them from its first
link, before it has read any robots.txt again.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response

from crawler import settings as defaults
from crawler.parsing.urls import CleanParam, drop_clean_params, host_of, parse_clean_params, site_of
from crawler.state.runstate import RunState

__all__ = ["SiteRules"]

logger = logging.getLogger(__name__)


def _encode(rules: tuple[CleanParam, ...]) -> list[list[Any]]:
    return [[sorted(rule.params), rule.path] for rule in rules]


def _decode(value: list[list[Any]]) -> tuple[CleanParam, ...]:
    rules = []
    for entry in value:
        if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], str):
            rules.append(CleanParam(frozenset(str(p) for p in entry[0]), entry[1]))
    return tuple(rules)


class SiteRules:
    """Downloader middleware: learns Clean-param rules from robots.txt; ``clean(url)`` applies them."""

    def __init__(self, crawler: Crawler, known: dict[str, tuple[CleanParam, ...]]):
        self.crawler = crawler
        self.by_host = known
        self._by_site: dict[str, tuple[CleanParam, ...]] = {}
        self._index()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SiteRules:
        if not crawler.settings.getbool("ROBOTSTXT_CLEAN_PARAM", defaults.ROBOTSTXT_CLEAN_PARAM):
            raise NotConfigured
        state = RunState.of(crawler)
        known = {host: _decode(rules) for host, rules in state.site_rules().items()}
        return cls(crawler, known)

    def _index(self) -> None:
        by_site: dict[str, list[CleanParam]] = {}
        for host, rules in self.by_host.items():
            by_site.setdefault(site_of(host), []).extend(rules)
        self._by_site = {site: tuple(dict.fromkeys(rules)) for site, rules in by_site.items()}

    def process_response(self, request: Request, response: Response, spider: object = None) -> Response:
        if response.status == 200 and urlsplit(request.url).path == "/robots.txt":
            self.learn(host_of(request.url), response.body.decode("utf-8", errors="replace"))
        return response

    def learn(self, host: str, robots_txt: str) -> None:
        rules = parse_clean_params(robots_txt)
        if rules == self.by_host.get(host, ()):
            return
        self.by_host[host] = rules
        self._index()
        RunState.of(self.crawler).delivery.learn_site_rules(host, _encode(rules))
        self.crawler.stats.inc_value("robots/clean_param_hosts")
        if rules:
            logger.debug("%s: robots.txt Clean-param drops %s", host, sorted({p for r in rules for p in r.params}))

    def clean(self, url: str) -> str:
        """``url`` without the parameters its site's robots.txt calls meaningless."""
        return drop_clean_params(url, self._by_site.get(site_of(host_of(url)), ()))
