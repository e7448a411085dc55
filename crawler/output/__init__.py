"""What leaves the crawler: guarded feed storages, the digest, the run summary, and the signals
around publishing a file."""
