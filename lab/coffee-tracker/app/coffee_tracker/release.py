"""What this release of the app contains.

The lab's git history for the app differs between tags only in this file and in VERSION, so
each tagged release has a small, visible behaviour of its own (see lab/coffee-tracker/git-repo.sh).
"""
from __future__ import annotations

# Optional route groups served by this release.
FEATURES: frozenset[str] = frozenset({"heartrate", "stats"})

# The query /health runs to decide whether the database is usable.
HEALTH_PROBE_SQL = "SELECT 1"
