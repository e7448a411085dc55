"""Webhook alerts: sent once the run's delivery is recorded, retried run after run until the
receiver takes them, and never a reason for a crawl to fail or wait long.

An alert is a row in the state (crawler/state/watch_rows.py), written in the same transaction as
the delivery of the article that matched, once per watchlist and story. After the outputs are
in place, this extension posts the alerts that are due, oldest first: this run's and any an
earlier run could not send. A POST that fails (no answer, 5xx, a refusal) is tried again at
once twice, backing off; a receiver still failing is left alone for the rest of the run, and its
alerts are due again after a pause that doubles each run (5 minutes to 6 hours), until
ALERT_GIVE_UP_AFTER, when they are given up with an error in the log. Sending stops at
ALERT_SEND_SECONDS; what is left waits for the next run.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_to_future
from twisted.internet.threads import deferToThread

from crawler import __version__
from crawler import settings as defaults
from crawler.config.watchlists_file import Webhook
from crawler.config.windows import parse_duration
from crawler.output.watchlists import watchlists_config
from crawler.state.rows import DueAlert
from crawler.state.runstate import RunState
from crawler.state.store import Alerts, StateError

__all__ = ["AlertConfig", "AlertSender", "next_attempt"]

logger = logging.getLogger(__name__)

# Tries of one alert within a run, and the pauses between them.
TRIES = 3
PAUSES = (1.0, 2.0)
# The pause before a run tries a failing alert again: doubles per run's failure, within these.
FIRST_PAUSE, LONGEST_PAUSE = 300, 6 * 3600
# Alerts read per run: a backlog larger than this is sent over several runs.
BATCH = 500


@dataclass(frozen=True, slots=True)
class AlertConfig:
    timeout: float = defaults.ALERT_TIMEOUT
    send_seconds: float = defaults.ALERT_SEND_SECONDS
    give_up_after: float = 7 * 86400.0

    @classmethod
    def from_settings(cls, settings: Any) -> AlertConfig:
        give_up = parse_duration(str(settings.get("ALERT_GIVE_UP_AFTER", defaults.ALERT_GIVE_UP_AFTER)))
        if isinstance(give_up, str):
            raise ValueError(f"ALERT_GIVE_UP_AFTER: {give_up}")
        return cls(
            timeout=settings.getfloat("ALERT_TIMEOUT", defaults.ALERT_TIMEOUT),
            send_seconds=settings.getfloat("ALERT_SEND_SECONDS", defaults.ALERT_SEND_SECONDS),
            give_up_after=give_up.total_seconds(),
        )


def next_attempt(attempts: int, now: float) -> int:
    """When an alert that has failed in ``attempts`` runs is due again."""
    return int(now + min(LONGEST_PAUSE, FIRST_PAUSE * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True, slots=True)
class _Posted:
    ok: bool
    error: str | None = None


class AlertSender:
    def __init__(self, crawler: Crawler, webhooks: dict[str, Webhook], config: AlertConfig):
        self.crawler, self.webhooks, self.config = crawler, webhooks, config

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        # The file as the Watchlists extension read it (the same validated copy while unchanged).
        config = watchlists_config(crawler.settings)
        webhooks = config.webhooks if config is not None else {}
        if not webhooks:
            raise NotConfigured
        sender = cls(crawler, webhooks, AlertConfig.from_settings(crawler.settings))
        # After RunState's own handler of the same signal: the delivery is recorded by then.
        crawler.signals.connect(sender.send_due, signal=signals.feed_exporter_closed)
        return sender

    async def send_due(self) -> None:
        store = RunState.of(self.crawler).alert_store()
        now = time.time()
        try:
            due = store.due_alerts(now, BATCH)
        except StateError as exc:
            logger.warning("Alerts: the alerts owed cannot be read (%s); the next run sends them", exc)
            return
        if due:
            outcomes = await deferred_to_future(deferToThread(self._post_all, due, now))
            try:
                store.record_alerts(outcomes)
            except StateError as exc:
                logger.warning("Alerts: what became of %d alerts cannot be recorded (%s)", len(outcomes), exc)
            self._count(outcomes)
        self._report(store, now)

    def _count(self, outcomes: list[dict[str, Any]]) -> None:
        stats = self.crawler.stats
        for outcome in outcomes:
            if outcome.get("sent"):
                stats.inc_value("alerts/sent")
                continue
            stats.inc_value("alerts/failed")
            if outcome.get("given_up"):
                stats.inc_value("alerts/given_up")
                logger.error(
                    "Alerts: gave up the alert of watchlist %s for story %s after %d attempts (%s)",
                    outcome["watchlist"], outcome["story_id"], outcome["attempts"], outcome["error"],
                )  # fmt: skip

    def _post_all(self, due: list[DueAlert], now: float) -> list[dict[str, Any]]:
        """In a thread: each due alert posted to its watchlist's webhook, oldest first."""
        import requests

        deadline = time.monotonic() + self.config.send_seconds
        failing: dict[str, str] = {}  # webhook URL -> why it failed this run
        outcomes = []
        with requests.Session() as session:
            for alert in due:
                webhook = self.webhooks.get(alert.watchlist)
                if webhook is None:
                    outcomes.append(self._failed(alert, now, "the watchlist has no webhook any more", give_up=True))
                elif webhook.url in failing or time.monotonic() > deadline:
                    continue  # due again next run, its attempts unspent
                else:
                    posted = self._post(session, webhook, alert, deadline)
                    if posted.ok:
                        outcomes.append({**_key(alert), "sent": int(time.time()), "now": int(time.time()),
                                         "attempts": alert.attempts + 1})  # fmt: skip
                    else:
                        failing[webhook.url] = posted.error or "failed"
                        outcomes.append(self._failed(alert, now, posted.error or "failed"))
        return outcomes

    def _post(self, session: Any, webhook: Webhook, alert: DueAlert, deadline: float) -> _Posted:
        import requests

        body = json.dumps(alert.payload, ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"sources-crawler/{__version__} (webhook)",
            # The same alert may come twice (a run killed between sending and recording it).
            "Idempotency-Key": str(alert.payload.get("id") or f"{alert.watchlist}/{alert.story_id}"),
        }
        if webhook.secret_env and (secret := os.environ.get(webhook.secret_env)):
            digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
            headers["X-Signature-256"] = f"sha256={digest}"
        error = "not tried"
        for attempt in range(TRIES):
            try:
                response = session.post(webhook.url, data=body, headers=headers, timeout=self.config.timeout)
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}: {exc}"[:300]
            else:
                if 200 <= response.status_code < 300:
                    return _Posted(True)
                error = f"HTTP {response.status_code}"
            if attempt < len(PAUSES) and time.monotonic() + PAUSES[attempt] < deadline:
                time.sleep(PAUSES[attempt])
            else:
                break
        return _Posted(False, error)

    def _failed(self, alert: DueAlert, now: float, error: str, give_up: bool = False) -> dict[str, Any]:
        attempts = alert.attempts + 1
        expired = give_up or now - alert.created >= self.config.give_up_after
        return {**_key(alert), "attempts": attempts, "next_at": next_attempt(attempts, now), "error": error,
                "given_up": int(now) if expired else None}  # fmt: skip

    def _report(self, store: Alerts, now: float) -> None:
        """The run's figures (the run summary's ``alerts``), and a line for the operator."""
        stats = self.crawler.stats
        try:
            waiting = store.waiting_alerts()
        except StateError as exc:
            logger.warning("Alerts: the alerts still owed cannot be counted (%s)", exc)
            return
        sent, failed = stats.get_value("alerts/sent", 0), stats.get_value("alerts/failed", 0)
        stats.set_value("alerts/waiting", sum(count for count, _ in waiting.values()))
        for watchlist, (count, oldest) in sorted(waiting.items()):
            hours = (now - oldest) / 3600
            log = logger.warning if hours >= 1 else logger.info
            log("Alerts: %d for watchlist %s not delivered yet (the oldest for %.1f h); retried next run",
                count, watchlist, hours)  # fmt: skip
        if sent or failed:
            logger.info("Alerts: %d sent, %d failed this run", sent, failed)


def _key(alert: DueAlert) -> dict[str, Any]:
    return {"watchlist": alert.watchlist, "story_id": alert.story_id}
