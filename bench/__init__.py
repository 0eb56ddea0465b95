"""Benchmarks: runnable scripts that print their figures (python -m bench.<name>)."""
