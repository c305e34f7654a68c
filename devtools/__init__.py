"""Developers' tools, apart from the lab's tooling (scripts/labtools/): imported by scripts/bench.py and tests only."""
