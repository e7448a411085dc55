"""The spider's checks of delivered articles (crawler/evidence): the conditional requests, and
what each answer means.

A check is asked after the source's new articles (its backlog phase, lowest priority), on the
source's download slot, with the validators of the last answer. A 304 or the same text: checked,
nothing to say. A changed text: the article goes through the pipelines as a revision the site
did not announce. A page gone (crawler/evidence/removal.py): suspected, then confirmed by a check
``REMOVAL_CONFIRM_AFTER`` later, and reported once as a removal record built from the record
delivered last. A page that answers with its article after its removal was reported comes out
as a return. 5xx, timeouts and refusals tell nothing: the check is asked again later.
"""

from __future__ import annotations

import html
import logging
import re
import secrets
import time
from dataclasses import fields
from pathlib import PurePosixPath
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

from scrapy.crawler import Crawler
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from crawler.config.sources_file import Source
from crawler.evidence.changes import ChangeKind, FoundBy
from crawler.evidence.removal import DESCRIPTIONS, GoneReason, Verdict, gone_reason, weigh_check
from crawler.frontier.documents import validator_headers
from crawler.frontier.run_frontier import RunFrontier
from crawler.items import ArticleItem
from crawler.net.failures import failure_reason
from crawler.output.warc_archive import WarcArchive
from crawler.parsing.dates import utc_timestamp
from crawler.parsing.records import Article, Rejected
from crawler.parsing.urls import url_key
from crawler.state.checks import ArticleChecks, Validators
from crawler.state.rows import DueCheck
from crawler.state.runstate import RunState
from crawler.stats import Count, SourceStats


class Spider(Protocol):
    """What the checks need of the sources spider."""

    crawler: Crawler
    frontier: RunFrontier
    source_stats: SourceStats

    @property
    def run_state(self) -> RunState: ...
    def source(self, name: str) -> Source | None: ...
    def slot_of(self, source: str) -> str: ...
    async def extract_page(self, response: Response, source: str) -> Article | Rejected: ...
    def render_again(self, response: Response, source: str, rejected: Rejected) -> Request | None: ...
    def build_item(self, source: Source, url: str, via: dict[str, str], article: Article) -> ArticleItem: ...
    def offer_story(self, item: ArticleItem, article: Article) -> None: ...
    async def parse_revisit(self, response: Response, source: str, check: DueCheck) -> list[Any]: ...
    def on_revisit_error(self, failure: Failure) -> None: ...
    async def parse_probe(self, response: Response, **kwargs: Any) -> list[ArticleItem]: ...
    async def on_probe_error(self, failure: Failure) -> list[ArticleItem]: ...


__all__ = ["REVISIT_PRIORITY", "Revisits", "same_text", "validators_of"]

logger = logging.getLogger(__name__)

# After everything new: feeds (10), new articles (0), archives (-5), owed pages (-10).
REVISIT_PRIORITY = -20
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(rb"<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
_WORD = re.compile(r"\w{3,}")
# Share of words two texts must have in common to be the same article (an edit keeps most).
SAME_TEXT = 0.3
# Characters under which a page's text, not the delivered article's, is read for "not found".
SHORT = 1500
# Share of visible words two pages share when they are the same page (a soft 404 served at
# two URLs); two articles of one site share their menus and footer, far less.
SAME_PAGE = 0.7
_SCRIPTS = re.compile(rb"<(script|style|noscript)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def same_text(before: str | None, after: str | None) -> bool:
    """Whether two texts are versions of one article (word sets overlapping by SAME_TEXT)."""
    a, b = set(_WORD.findall((before or "").lower())), set(_WORD.findall((after or "").lower()))
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= SAME_TEXT


def _heads(body: bytes, encoding: str) -> tuple[str | None, str | None]:
    """The page's <title> and first <h1>, as text (a "not found" page says so there)."""
    head = body[:262_144]
    found = []
    for pattern in (_TITLE, _H1):
        match = pattern.search(head)
        text = match.group(1).decode(encoding, "replace") if match else None
        found.append(" ".join(html.unescape(_TAGS.sub(" ", text)).split()) if text else None)
    return found[0], found[1]


def _visible_words(body: bytes, encoding: str) -> set[str]:
    """The words a reader sees on a page (scripts and tags left out), for telling pages apart."""
    text = _SCRIPTS.sub(b" ", body[:1_048_576]).decode(encoding, "replace")
    return set(_WORD.findall(html.unescape(_TAGS.sub(" ", text)).lower()))


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def validators_of(response: Response) -> Validators:
    """The answer's ETag and Last-Modified, for the conditional GET of its next check."""
    etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
    return (etag.decode("latin-1") if etag else None, modified.decode("latin-1") if modified else None)


def _record_item(record: dict[str, Any]) -> ArticleItem:
    names = {f.name for f in fields(ArticleItem)}
    return ArticleItem(**{key: value for key, value in record.items() if key in names})


class Revisits:
    def __init__(self, spider: Spider):
        self.spider = spider

    @property
    def checks(self) -> ArticleChecks:
        return self.spider.run_state.checks

    def requests(self, source: Source) -> list[Request]:
        """The source's checks due now (none of a page this run fetched already)."""
        spider, requests = self.spider, []
        for row in self.checks.due(source.name):
            if spider.frontier.dealt_with(url_key(row.url)):
                continue
            headers = validator_headers(row.etag, row.last_modified)
            spider.source_stats.inc(source.name, Count.REVISITS)
            requests.append(Request(
                row.url, callback=spider.parse_revisit, errback=spider.on_revisit_error, priority=REVISIT_PRIORITY,
                headers=headers, cb_kwargs={"source": source.name, "check": row}, dont_filter=True,
                meta={"source": source.name, "download_slot": spider.slot_of(source.name), "revisit": True,
                      "handle_httpstatus_list": [304, 404, 410, 451]},
            ))  # fmt: skip
        return requests

    async def parse(self, response: Response, source: str, check: DueCheck) -> list[Any]:
        spider, checks = self.spider, self.checks
        redirected = bool(response.meta.get("redirect_urls"))
        if response.status == 304:
            spider.source_stats.inc(source, Count.REVISITS_NOT_MODIFIED)
            if check.removed is not None:
                return await self._restored_unchanged(response, check)
            checks.checked(check, checks.next_after_present(check), validators_of(response))
            return []
        result = await spider.extract_page(response, source) if response.status == 200 else None
        if isinstance(result, Rejected) and (again := spider.render_again(response, source, result)) is not None:
            return [again]
        article = result if isinstance(result, Article) else None
        previous = await checks.previous(check.id)
        same = article is not None and same_text((previous or {}).get("text"), article.text)
        title = headline = None
        if response.status == 200 and not same:
            title, headline = _heads(response.body, getattr(response, "encoding", None) or "utf-8")
        src = spider.source(source)
        roots = tuple(url for _, url in src.roots) if src is not None else ()
        found = article is not None
        # A short "article" that is not the one delivered may be the not-found page's own text.
        short = (article.title, article.text[:500]) if article is not None and len(article.text) < SHORT else ()
        signs = (title, headline, *short)
        reason = gone_reason(response.status, check.url, response.url, redirected, roots, found, same, *signs)
        answer = await self._answer(response)
        if reason is None and response.status == 200 and not same:
            # Not the article, and nothing says "not found": what does a page that cannot exist
            # look like on this site? A site that answers every unknown URL with the same page
            # (its front page, a search) serves that here too.
            return [self._probe(response, check, answer, article)]
        return await self._weigh(check, answer, reason, article, previous)

    async def _weigh(
        self, check: DueCheck, answer: dict[str, Any], reason: GoneReason | None, article: Article | None,
        previous: dict[str, Any] | None,
    ) -> list[ArticleItem]:  # fmt: skip
        if reason is None and article is None:
            # No article and no sign of a missing page (a block page, an empty shell): no verdict.
            self.spider.source_stats.inc(check.source, Count.REVISITS_INCONCLUSIVE)
            self.checks.inconclusive(check)
            return []
        suspected = float(check.gone["at"]) if check.gone and check.gone.get("at") is not None else None
        removed = check.removed is not None
        verdict = weigh_check(reason, suspected, removed, time.time(), self.checks.schedule.confirm_after)
        src = self.spider.source(check.source)
        if verdict == Verdict.PRESENT:
            assert article is not None and src is not None
            return await self._present(answer, src, check, article)
        return await self._gone(answer, check, verdict, reason, previous)

    async def _answer(self, response: Response) -> dict[str, Any]:
        """What a removal record and a revision keep of an answer once it is gone."""
        return {"status": response.status, "final_url": response.url, "validators": validators_of(response),
                "warc": await self._pointer(response)}  # fmt: skip

    def _probe(self, response: Response, check: DueCheck, answer: dict[str, Any], article: Article | None) -> Request:
        spider = self.spider
        spider.source_stats.inc(check.source, Count.REVISITS_PROBES)
        suffix = PurePosixPath(urlsplit(check.url).path).suffix
        url = urljoin(check.url, f"{secrets.token_hex(12)}{suffix if len(suffix) <= 6 else ''}")
        words = sorted(_visible_words(response.body, getattr(response, "encoding", None) or "utf-8"))
        return Request(
            url, callback=spider.parse_probe, errback=spider.on_probe_error, priority=REVISIT_PRIORITY,
            dont_filter=True, cb_kwargs={"check": check, "answer": {**answer, "words": words}, "article": article},
            meta={"source": check.source, "download_slot": spider.slot_of(check.source), "handle_httpstatus_all": True},
        )  # fmt: skip

    async def probed(
        self, response: Response, check: DueCheck, answer: dict[str, Any], article: Article | None
    ) -> list[ArticleItem]:
        """The page that cannot exist answered: the same page as the check got means a soft 404."""
        words = _visible_words(response.body, getattr(response, "encoding", None) or "utf-8")
        same_page = response.status == 200 and _overlap(set(answer["words"]), words) >= SAME_PAGE
        reason = GoneReason.SOFT_404 if same_page else None
        return await self._weigh(check, answer, reason, article, await self.checks.previous(check.id))

    async def probe_failed(self, failure: Failure) -> list[ArticleItem]:
        """No answer to the probe: the check's answer stands as it is."""
        kwargs = failure.request.cb_kwargs  # type: ignore[attr-defined]
        check = kwargs["check"]
        return await self._weigh(check, kwargs["answer"], None, kwargs["article"], await self.checks.previous(check.id))

    async def _present(
        self, answer: dict[str, Any], src: Source, check: DueCheck, article: Article
    ) -> list[ArticleItem]:
        """It answered with its article: a revision if the text changed (the pipelines decide)."""
        checks, validators = self.checks, tuple(answer["validators"])
        checks.checked(check, checks.next_after_present(check), validators)  # replaced if delivered
        previous = await checks.previous(check.id)
        via = (previous or {}).get("discovered_via") or {"kind": "feed", "url": check.url}
        item = self.spider.build_item(src, answer["final_url"], via, article)
        item.id = check.id  # the page checked, whatever its canonical link says now
        item.warc = answer["warc"]
        checks.note_answer(item.id, check.url, validators, FoundBy.REVISIT)
        if check.removed is not None:
            item.change = {"kind": str(ChangeKind.RESTORED)}
            checks.note_removal(item.id, None, None)
            logger.warning("%s: %s is back after its removal was reported", src.name, check.url)
        self.spider.offer_story(item, article)
        return [item]

    async def _restored_unchanged(self, response: Response, check: DueCheck) -> list[ArticleItem]:
        """A 304 for a page reported removed: it is back as it was delivered."""
        previous = await self.checks.previous(check.id)
        if previous is None:
            self.checks.checked(check, self.checks.next_after_present(check), validators_of(response))
            return []
        item = _record_item(previous)
        item.change = {"kind": str(ChangeKind.RESTORED)}
        item.fetched_at = utc_timestamp()
        item.warc = await self._pointer(response)
        self.checks.note_answer(item.id, check.url, validators_of(response), FoundBy.REVISIT)
        self.checks.note_removal(item.id, None, None)
        return [item]

    async def _gone(
        self, answer: dict[str, Any], check: DueCheck, verdict: Verdict, reason: GoneReason | None,
        previous: dict[str, Any] | None,
    ) -> list[ArticleItem]:  # fmt: skip
        checks, stats, now = self.checks, self.spider.source_stats, time.time()
        assert reason is not None
        evidence = {"at": now, "reason": str(reason), "status": answer["status"], "url": check.url,
                    "final_url": answer["final_url"], "warc": answer["warc"]}  # fmt: skip
        if verdict == Verdict.SUSPECTED:
            stats.inc(check.source, Count.REVISITS_GONE_SUSPECTED)
            logger.info("%s: %s looks gone (%s); checked again to confirm", check.source, check.url, reason)
            # The article's validators stay: those of a "not found" page would make its next
            # answer a 304 that looks like the article unchanged.
            checks.checked(check, now + checks.schedule.confirm_after, gone=evidence)
            return []
        if verdict == Verdict.WAITING:
            assert check.gone is not None
            checks.checked(check, float(check.gone["at"]) + checks.schedule.confirm_after, gone=check.gone)
            return []
        if verdict == Verdict.STILL_REMOVED:
            assert check.removed is not None
            removed = check.removed
            checks.checked(check, checks.next_after_removal(check, removed), gone=check.gone, removed=removed)
            return []
        if previous is None:
            logger.warning(
                "%s: %s is gone, but its last record is no longer kept to report it", check.source, check.url
            )
            checks.checked(check, checks.next_after_removal(check, now), gone=check.gone, removed=now)
            return []
        return [self._removal(check, previous, evidence, reason, now)]

    def _removal(
        self, check: DueCheck, previous: dict[str, Any], evidence: dict[str, Any], reason: GoneReason, now: float
    ) -> ArticleItem:
        item = _record_item(previous)
        first = check.gone or {}
        item.fetched_at = utc_timestamp(now)
        item.warc = evidence["warc"]
        item.change = {
            "kind": str(ChangeKind.REMOVED), "found_by": str(FoundBy.REVISIT), "at": utc_timestamp(now),
            "previous_revision": check.revision, "previous_content_hash": previous.get("content_hash"),
            "title": None, "paragraphs": None,
            "evidence": {
                "reason": str(reason), "description": DESCRIPTIONS[reason],
                "first_seen_gone": utc_timestamp(float(first["at"])) if first.get("at") is not None else None,
                "confirmed": utc_timestamp(now), "checks": [_shown(first), _shown(evidence)],
            },
        }  # fmt: skip
        self.checks.note_answer(item.id, check.url, (None, None), None)
        self.checks.note_removal(item.id, check.gone, now)
        logger.warning("%s: %s was removed (%s), confirmed at a second check", check.source, check.url, reason)
        return item

    async def _pointer(self, response: Response) -> dict[str, Any] | None:
        archive = WarcArchive.of(self.spider.crawler)
        return await archive.pointer(response) if archive is not None else None

    def failed(self, failure: Failure) -> None:
        """5xx after Scrapy's retries, a timeout, a refusal: the check tells nothing."""
        request = failure.request  # type: ignore[attr-defined]
        check: DueCheck = request.cb_kwargs["check"]
        self.spider.source_stats.inc(check.source, Count.REVISITS_INCONCLUSIVE)
        logger.info("%s: check of %s tells nothing (%s); asked again later", check.source, check.url,
                    failure_reason(failure))  # fmt: skip
        self.checks.inconclusive(check)


def _shown(check: dict[str, Any]) -> dict[str, Any]:
    """A check as a removal record shows it (its time in ISO 8601)."""
    at = check.get("at")
    return {**check, "at": utc_timestamp(float(at)) if at is not None else None}
