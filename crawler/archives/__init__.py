"""Web archives as a source of articles (issue: backfill from CC-NEWS and any WARC file): the
pages of WARC files, read one record at a time and kept only when they belong to a configured
source, before any HTML is parsed."""
