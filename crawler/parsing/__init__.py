"""Pure functions from bytes to fields: feeds and sitemaps, articles, language, encodings, dates, URLs,
change markers. Plain functions of bytes and strings that need no crawler (Scrapy's own pure helpers,
such as its gunzip, are used where they exist), so each piece is testable on its own."""
