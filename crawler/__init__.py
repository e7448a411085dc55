"""sources-crawler: news articles from configured sources, extracted, translated, as JSON lines."""

__version__ = "0.1.0"
