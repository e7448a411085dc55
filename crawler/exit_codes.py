"""Exit statuses of `scrapy crawl sources`, for cron wrappers (documented in README.md)."""

EXIT_OK = 0
# A source produced nothing because of errors (see the run summary).
EXIT_SOURCE_FAILED = 1
# The sources file or the command line is wrong; nothing was crawled.
EXIT_CONFIG_ERROR = 2
# Another run holds the state database; this one did nothing.
EXIT_LOCKED = 75
