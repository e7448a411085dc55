"""Exit statuses of `scrapy crawl sources`, for cron wrappers (documented in README.md).

The numbers follow sysexits.h where one fits, so that generic cron wrappers read them right.
"""

EXIT_OK = 0
# A source produced nothing because of errors (see the run summary).
EXIT_SOURCE_FAILED = 1
# The sources file or the command line is wrong; nothing was crawled.
EXIT_CONFIG_ERROR = 2
# The run finished, but a source's translations all failed (its articles went out untranslated,
# to be translated on the next run) or every article it fetched was refused (see the summary).
EXIT_DEGRADED = 3
# The state database (STATE_DB) cannot be opened, or is not a database; nothing was crawled (EX_NOINPUT).
EXIT_STATE_UNUSABLE = 66
# The job queue (REDIS_URL) of scrapy sources enqueue / worker cannot be reached (EX_UNAVAILABLE).
EXIT_UNAVAILABLE = 69
# An output could not be opened, written or published; nothing of the run was marked delivered (EX_IOERR).
EXIT_OUTPUT_FAILED = 74
# Another run holds the state database; this one did nothing (EX_TEMPFAIL).
EXIT_LOCKED = 75
# The run was stopped by SIGINT or SIGTERM before it ended; what it wrote was delivered (128 + SIGINT).
EXIT_INTERRUPTED = 130

# A crawl that ended with one of these finished its work (a source may have failed in it).
FINISHED = frozenset({EXIT_OK, EXIT_SOURCE_FAILED, EXIT_DEGRADED})
# Worst first: the status of several runs together (the shards of a distributed run).
SEVERITY = (EXIT_OUTPUT_FAILED, EXIT_STATE_UNUSABLE, EXIT_SOURCE_FAILED, EXIT_INTERRUPTED, EXIT_DEGRADED, EXIT_OK)
