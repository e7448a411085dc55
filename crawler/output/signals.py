"""Signals this project sends besides Scrapy's own (connect with ``crawler.signals.connect``)."""

from __future__ import annotations

__all__ = ["output_published", "output_publishing"]

# An output file is complete and about to be renamed into place (``path``: its final name).
output_publishing = object()
# The output file is in place under its final name (``path``).
output_published = object()
