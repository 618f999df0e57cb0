"""Cadres' announcements to a unit subtree: stored, fired, cancelled, reported."""
