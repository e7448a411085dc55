"""What a run still owes and when to ask again: the retry frontier of article pages, and the
revisit schedule of feeds, sitemaps and listing pages (pure policies and the run's books)."""
