"""Pure functions from bytes to fields: feeds and sitemaps, articles, language, encodings, dates, URLs,
change markers. Nothing here imports Scrapy, so each piece is testable on its own."""
