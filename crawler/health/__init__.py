"""Source health: each source's normal rhythm, learned from the stored run summaries, and the
flags raised when a source breaks it (silent, failing, frozen, degraded). A broken source
still exits 0 in a crawl; these are how people find out before a reader asks."""
