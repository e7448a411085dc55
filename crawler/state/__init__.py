"""What runs remember: the store (SQLite today), the run lock, and the run state extension that
decides what to emit and delivers it in two phases."""
