"""Benchmarks (not run by the test suite): see bench/broadcast.py."""
