"""Extraction off the reactor: the process pool, what its forkserver preloads, and memory tuning."""
