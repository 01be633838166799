"""Benchmarks: scripts that print how fast and how large, run by hand (and smoke-tested)."""
