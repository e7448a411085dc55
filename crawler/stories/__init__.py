"""One story across outlets and editions: near-duplicate texts and hreflang editions share a story id."""
