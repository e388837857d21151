"""What every faust table of the pipeline needs beside the table itself: a delete its changelog records."""

from __future__ import annotations

from collections.abc import MutableMapping


def forget(table: MutableMapping, key: str) -> None:
    """Remove `key` if present. `del`, never `pop`: on a faust table only a delete writes the tombstone to the
    changelog, so that a restarted worker does not bring the value back (R51)."""
    if key in table:
        del table[key]
