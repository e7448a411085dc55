"""A cron log that says what happened, not how Scrapy is configured.

A run of two sources with nothing new logged 143 lines, 110 of them Scrapy's start-up banner,
overridden settings, the lists of enabled components and the stats dump. Those are useful when
debugging and noise in a mail from cron: unless ``LOG_SCRAPY_DETAILS`` is on, they are logged
at DEBUG, and the INFO log is the run's own: what each source gave (the run summary), the
translation line, and every warning and error.
"""

from __future__ import annotations

import logging
from typing import Any

from crawler import settings as defaults

__all__ = ["QUIET_LOGGERS", "install"]

# Scrapy's loggers whose INFO lines describe the machinery, not the run.
QUIET_LOGGERS = (
    "scrapy.utils.log",  # the banner, versions, overridden settings
    "scrapy.crawler",
    "scrapy.addons",
    "scrapy.middleware",  # enabled extensions, middlewares, pipelines
    "scrapy.statscollectors",  # the stats dump
    "scrapy.extensions.logstats",  # "Crawled N pages (at M pages/min)" every minute
    "scrapy.extensions.telnet",
    "scrapy.core.engine",  # spider opened, closing, closed (the summary says how it ended)
)


class _ToDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


_FILTER = _ToDebug()


def install(settings: Any) -> None:
    """Demote Scrapy's machinery lines to DEBUG, unless LOG_SCRAPY_DETAILS asks for them."""
    quiet = not settings.getbool("LOG_SCRAPY_DETAILS", defaults.LOG_SCRAPY_DETAILS)
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if quiet:
            logger.addFilter(_FILTER)
        else:
            logger.removeFilter(_FILTER)
