"""Repository tooling: it writes this checkout's README sections, model card and results table; not in the wheel."""
