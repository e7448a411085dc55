"""Evidence of what a site served and when: the revisit schedule of delivered articles, what
changed between revisions, removals, and the WARC archive of every response (pure logic and
file formats; the Scrapy components that wire them in live in the spider, the pipelines and
crawler/output/warc_archive.py)."""
