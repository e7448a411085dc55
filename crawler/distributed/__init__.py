"""Runs spread over several machines: sources split into shards, run as RQ jobs on Redis,
with state shared in PostgreSQL (STATE_URL). See README, "Running on several machines"."""
