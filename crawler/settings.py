"""Scrapy settings for sources-crawler. Override any of them with ``-s NAME=value``."""

from __future__ import annotations

from importlib.metadata import version

from crawler import __version__

# Read from the package's metadata, not by importing Scrapy: every module may read its
# defaults here, the extraction workers too, which do not load Scrapy (40 MiB each).
_SCRAPY_VERSION = tuple(int(part) for part in version("scrapy").split(".")[:2])

BOT_NAME = "sources-crawler"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
# Project commands: `scrapy sources ...` and a `crawl` that validates the sources file first.
COMMANDS_MODULE = "crawler.commands"

# --- the product's own settings (documented in README.md) --------------------
SOURCES_FILE = "config/sources.yaml"
# Per source per run, when the sources file sets no max_articles (0 = no limit).
SOURCES_MAX_ARTICLES = 500
# `scrapy sources check` and source health: a feed whose newest item is older is frozen.
CHECK_FROZEN_DAYS = 3.0
# Source health (README, "Source health"): the thresholds of its flags. HEALTH_FROZEN_DAYS,
# unset, is CHECK_FROZEN_DAYS.
HEALTH_WINDOW_DAYS = 14
HEALTH_HISTORY_DAYS = 28.0
HEALTH_SILENT_FACTOR = 3.0
HEALTH_SILENT_MIN_HOURS = 2.0
HEALTH_MIN_HISTORY_DAYS = 3.0
HEALTH_MIN_GAPS = 5
HEALTH_FAILING_RUNS = 3
HEALTH_DEGRADED_JUMP = 0.3
HEALTH_DEGRADED_RUNS = 3
HEALTH_DEGRADED_MIN_PAGES = 5
STATE_DB = ".scrapy/state.sqlite3"
# postgresql://…: state shared between machines (scrapy sources enqueue / worker); unset = SQLite at STATE_DB.
STATE_URL = ""
# The job queue of scrapy sources enqueue / worker.
REDIS_URL = "redis://127.0.0.1:6379/0"
# A run holding the lease in PostgreSQL says it is alive this often; silent for
# RUN_LEASE_SECONDS (at least 3 heartbeats), it is taken as dead and the next run takes over.
RUN_HEARTBEAT_SECONDS = 5.0
RUN_LEASE_SECONDS = 300.0
# scrapy sources enqueue without --shards.
SHARDS = 4
# One shard's crawl may take this long before its job kills it (and RQ retries it once).
SHARD_TIMEOUT_SECONDS = 3600
# Later pages of a listing (or a paged feed) read beyond the first, while each page
# still holds links not seen before.
DISCOVERY_MAX_PAGES = 5
# The revisit policy of feeds, sitemaps and listing pages (crawler/frontier/revisit.py): a
# document dated (by its URL or its index's lastmod) before this many days ago is not asked
# again once read; one unchanged for long is asked at a growing interval, capped here; and
# children due only by that interval are asked at most this many per source and run.
DISCOVERY_WINDOW_DAYS = 3.0
DISCOVERY_REVISIT_MAX_HOURS = 24.0
DISCOVERY_REVISITS_PER_RUN = 5
# An article page that could not be fetched (5xx, 429, timeout, a block page, …) is asked
# again on later runs, after a pause that doubles each time, until it has failed on this many
# runs *and* for this long (crawler/frontier/retry.py); then it is given up, with a log line.
RETRY_GIVE_UP_AFTER = "8 runs, 48h"
# Delivered articles are fetched again (a conditional GET) at these ages after they were first
# seen, to catch edits and removals their site does not announce (crawler/evidence/schedule.py);
# a source's ``revisit:`` key overrides it ("false" or "" turns revisits off).
REVISIT_AFTER = "1h, 6h, 24h, 72h"
# Checks of delivered articles per source and run, after its new articles; the longest overdue
# first, the rest wait for the next run.
REVISIT_MAX_PER_RUN = 200
# A page found gone is reported removed only when a check at least this much later finds it
# gone too (crawler/evidence/removal.py).
REMOVAL_CONFIRM_AFTER = "1h"
# A directory for the WARC archive of every response the crawl reads (unset: none), and the
# size at which a WARC file is closed and the next begun (crawler/output/warc_archive.py).
WARC_DIR = None
WARC_MAX_SIZE = 1_000_000_000
# Watchlists (crawler/output/watchlists.py): the file of terms an analyst follows. Absent at
# this default path: no watchlists. Set to a path that does not exist: an error.
WATCHLISTS_FILE = "config/watchlists.yaml"
# Webhook alerts (crawler/output/alert_sender.py): each POST's time limit, how long a run may
# spend sending once it is done, and how long an alert is retried (run after run, backing off)
# before it is given up.
ALERT_TIMEOUT = 10.0
ALERT_SEND_SECONDS = 60.0
ALERT_GIVE_UP_AFTER = "7d"
# Atom feeds of the English stream (crawler/output/atom_feeds.py): where (one file per source and
# per watchlist; unset or "": none), the entries each keeps, and the URL the directory is served
# at (for each feed's self link; unset: none).
FEEDS_DIR = "output/feeds"
FEED_ENTRIES = 50
FEEDS_BASE_URL = None
# scrapy sources backfill (crawler/archives): Common Crawl's data host, under which CC-NEWS lists
# its WARC files month by month; and the processes reading WARC files at once (-1: one per core).
CCNEWS_URL = "https://data.commoncrawl.org"
ARCHIVE_READERS = -1
# Articles, URLs, feed validators and cached translations not seen for this many
# days are forgotten at the end of a run (0 keeps everything).
STATE_RETENTION_DAYS = 90.0
# Near-duplicate texts and language editions share a story_id (crawler/stories).
STORIES_ENABLED = True
TRANSLATION_PROVIDER = "google"
TRANSLATION_TARGET = "en"
TRANSLATION_LANGUAGES = "uk,ru"
# Seconds a piece (title, summary, paragraph) waits for pieces of other articles to share
# its provider call (0: each article's pieces go in calls of their own).
TRANSLATION_BATCH_WAIT = 0.2
# Characters a run may send to the provider (0: no limit); past it, articles are written
# "deferred" and translated first on the next run.
TRANSLATION_MAX_CHARS_PER_RUN = 0
TRANSLATION_URL = None
TRANSLATION_API_KEY = None
TRANSLATION_TIMEOUT = 20
TRANSLATION_CONCURRENCY = 4
TRANSLATION_MODEL = None
# Beyond SPEC.md: retries per call (with exponential backoff from TRANSLATION_BACKOFF
# seconds, jittered, honouring Retry-After), consecutive failed calls before the
# provider is given up for the run, a lower per-call character budget than the
# provider's, the translation cache, and CPU threads for a local model.
TRANSLATION_RETRIES = 2
TRANSLATION_BACKOFF = 1.0
TRANSLATION_FAILURE_LIMIT = 6
TRANSLATION_MAX_CHARS = 0
TRANSLATION_CACHE = True
TRANSLATION_THREADS = 2

# --- politeness ----------------------------------------------------------------
# Honest and specific; operators should add a contact URL or address:
#   -s USER_AGENT="sources-crawler/0.1 (+https://example.org/contact)"
USER_AGENT = f"sources-crawler/{__version__} (news monitoring crawler; Scrapy)"
ROBOTSTXT_OBEY = True
# Drop the query parameters a site's robots.txt names in Clean-param (Yandex's directive).
ROBOTSTXT_CLEAN_PARAM = True
DOWNLOAD_DELAY = 0.5
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 4
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
EXTENSIONS = {
    # The WARC archive (WARC_DIR; crawler/output/warc_archive.py): built before Scrapy's feed
    # exporter (0), so that its file is whole before the outputs are published.
    "crawler.output.warc_archive.WarcArchive": -10,
    # What the run remembers and delivers (crawler/state/runstate.py); found by the other
    # components with crawler.get_extension(RunState).
    "crawler.state.runstate.RunState": 0,
    # The run's summary, source health and pruning at the end (crawler/output/run_summary.py).
    "crawler.output.run_summary.RunSummary": 1,
    # Which articles carry the same story (crawler/stories/extension.py).
    "crawler.stories.extension.Stories": 2,
    # Watchlists, their webhook alerts and the Atom feeds, once the run's delivery is recorded
    # (crawler/output/watchlists.py, alert_sender.py, atom_feeds.py).
    "crawler.output.watchlists.Watchlists": 4,
    "crawler.output.alert_sender.AlertSender": 5,
    "crawler.output.atom_feeds.AtomFeeds": 6,
    # Deletes old outputs and summaries when OUTPUT_RETENTION_DAYS is set (crawler/output/retention.py).
    "crawler.output.retention.OutputRetention": 3,
    "scrapy.extensions.throttle.AutoThrottle": None,
    "crawler.net.throttle.PoliteAutoThrottle": 0,
    # A listening debug console has no place on an unattended server.
    "scrapy.extensions.telnet.TelnetConsole": None,
}
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# --- CPU work -----------------------------------------------------------------------
# Extraction and language detection run in this many worker processes (-1: one per
# core; 0: inline in the crawler process, for debugging).
EXTRACTION_WORKERS = -1
# A page whose extraction takes longer is refused and its worker replaced.
EXTRACTION_TIMEOUT = 60.0
# A worker whose private memory passes this (MiB) is replaced by a fresh fork, which keeps
# a long crawl's memory flat. At 40 the peak of 1,000 pages on 2 workers was 374 MiB against
# 418 at 80, at the same speed (benchmarks/crawl.py --set EXTRACTION_WORKER_MAX_MB=…), but
# the simulated weeks' single worker, replaced after nearly every page, ran 4x slower in
# wall time (tests/test_capture_resilience.py): why a replacement waits is not known yet.
EXTRACTION_WORKER_MAX_MB = 80.0

# --- network reach (crawler/net/guard.py) -------------------------------------------
# Only public addresses, plus the hosts of the sources file's URLs and these.
NETWORK_ALLOW_HOSTS: list[str] = []
# True turns the guard off (a crawler inside an intranet, on purpose).
NETWORK_ALLOW_PRIVATE = False
# The setting was renamed in Scrapy 2.19; the old name still works before it.
if _SCRAPY_VERSION >= (2, 19):
    TWISTED_DNS_RESOLVER = "crawler.net.guard.GuardedResolver"
else:
    DNS_RESOLVER = "crawler.net.guard.GuardedResolver"
DOWNLOADER_MIDDLEWARES = {
    # A backfill's archived pages are answered from the archive, before anything below sees them.
    "crawler.middlewares.ArchiveReplay": 40,
    "crawler.net.guard.NetworkGuardMiddleware": 50,
    # Learns the sites' Clean-param rules from the robots.txt files Scrapy reads (crawler/net/siterules.py).
    "crawler.net.siterules.SiteRules": 560,
    # Same behaviour, same place in the chain; skips decoding pages that hold no refresh tag.
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.MetaRefreshMiddleware": 580,
    # Scrapy's own, raising typed IgnoreRequest subclasses (crawler/net/failures.py).
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.middlewares.OffsiteMiddleware": 50,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.RobotsTxtMiddleware": 100,
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.middlewares.HttpCompressionMiddleware": 590,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.middlewares.RedirectMiddleware": 600,
    # Each source's headers, cookies, user agent, proxy and render flag (crawler/net/source_fetch.py),
    # before Scrapy's header, user agent, cookie and proxy middlewares, which fill in the rest.
    "crawler.net.source_fetch.SourceFetch": 60,
    # A source proxy's credentials, for the download only (after HttpProxyMiddleware, 750).
    "crawler.net.source_fetch.ProxyCredentials": 760,
}
# http and https only: no file://, ftp://, s3:// or data: downloads. Pages of a source with
# render: true or auto go to a browser (crawler/net/render_handler.py); the rest to Scrapy's own.
DOWNLOAD_HANDLERS = {
    "file": None,
    "s3": None,
    "ftp": None,
    "data": None,
    "http": "crawler.net.render_handler.RenderingHandler",
    "https": "crawler.net.render_handler.RenderingHandler",
}

# --- the browser, for sources with render: true or auto (crawler/net/browser.py) ---------
# Chromium's executable: a name on PATH or a path ("": Debian's chromium, else Playwright's own).
RENDER_BROWSER = ""
# Pages rendered at once, all sources together.
RENDER_CONCURRENCY = 2
# Pages a source's browser context serves before it is closed and a fresh one opened.
RENDER_CONTEXT_PAGES = 50
# The browser's processes (PSS, MiB) past which it is restarted between pages.
RENDER_MEMORY_MB = 1024
# Seconds a page has to load; then up to RENDER_SETTLE more for its scripts' requests.
RENDER_TIMEOUT = 30
RENDER_SETTLE = 3.0
# Resource types the browser does not load (text needs none of them).
RENDER_BLOCK = ["image", "media", "font"]

# --- limits: nothing may hang a cron run or exhaust memory ---------------------
DOWNLOAD_TIMEOUT = 30
DNS_TIMEOUT = 15
RETRY_TIMES = 2
# The spider logs each failed request once, with its reason.
RETRY_GIVE_UP_LOG_LEVEL = "DEBUG"
REDIRECT_MAX_TIMES = 5
# Articles are well under a megabyte; feeds and sitemaps raise this per request.
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
METAREFRESH_MAXDELAY = 10

# --- output ---------------------------------------------------------------------
# Used when no -o/-O (or FEEDS) is given: Scrapy would otherwise merge its
# command-line outputs with a FEEDS set here instead of replacing it.
# Every run writes one file, empty when nothing is new, and its summary beside it.
DEFAULT_FEEDS = {
    "output/sources-%(run_time)s.jsonl": {"format": "jsonlines", "encoding": "utf-8", "store_empty": True},
}
# Each run deletes the outputs, summaries and manifests its own time-named FEEDS paths
# wrote more than this many days ago (0: keep everything). Fixed names are never touched.
OUTPUT_RETENTION_DAYS = 0.0
FEED_EXPORT_ENCODING = "utf-8"
FEED_STORE_EMPTY = True
FEED_STORAGES = {
    "": "crawler.output.exporters.AtomicFileFeedStorage",
    "file": "crawler.output.exporters.AtomicFileFeedStorage",
    "stdout": "crawler.output.exporters.GuardedStdoutFeedStorage",
}
FEED_EXPORTERS = {
    "digest": "crawler.output.digest.DigestItemExporter",
    "markdown": "crawler.output.digest.MarkdownDigestItemExporter",
    "jsonlines": "crawler.output.exporters.SafeJsonLinesItemExporter",
    "jsonl": "crawler.output.exporters.SafeJsonLinesItemExporter",
    "jl": "crawler.output.exporters.SafeJsonLinesItemExporter",
}

# The digest formats (-o today.txt:digest, -o today.md:markdown) add each
# article's original-language text when this is True.
DIGEST_ORIGINAL = False

ITEM_PIPELINES = {
    "crawler.pipelines.DuplicatePipeline": 100,
    "crawler.pipelines.StatePipeline": 200,
    "crawler.pipelines.ChangePipeline": 220,
    "crawler.pipelines.StoryPipeline": 250,
    "crawler.pipelines.TranslationPipeline": 300,
    "crawler.pipelines.WatchPipeline": 350,
    "crawler.pipelines.DeliveryPipeline": 800,
    "crawler.pipelines.EmittedPipeline": 900,
}

# Response data waiting for extraction or translation before Scrapy pauses
# downloads (Scrapy's default): ~20 pages, enough to keep the workers and
# TRANSLATION_CONCURRENCY calls busy; each pending megabyte costs ~3 MB of memory.
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 5 * 1024 * 1024
# Scrapy starts this many asyncio tasks per response to process its output; an
# article page yields one item, so 100 (the default) is pure overhead.
CONCURRENT_ITEMS = 8
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

LOG_LEVEL = "INFO"
# Scrapy's start-up banner, settings, enabled components and stats dump at INFO too (else at
# DEBUG: a cron log is the run summary and the warnings; crawler/quiet_log.py).
LOG_SCRAPY_DETAILS = False
DEFAULT_DROPITEM_LOG_LEVEL = "INFO"
