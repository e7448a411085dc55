"""Watchlists: which articles an analyst follows, matched in every inflected form."""
