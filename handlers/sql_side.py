"""The declarative adapter's own two tables in the company's database: a write-once ledger and restriction marks."""

from __future__ import annotations

from handlers.mapping import SideTables
from handlers.reference.db import Conn
from handlers.verbs import ALL_CATEGORIES

# Same columns as the reference systems' `processed` and `restrictions` (handlers/reference/marks.py), so a
# mapping over a reference database may name those and share them. basis: "art18" or "hold:<hold_id>".
SIDE_SQL = """
CREATE TABLE IF NOT EXISTS {ledger} (key TEXT PRIMARY KEY, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {marks} (email TEXT NOT NULL, category TEXT NOT NULL, basis TEXT NOT NULL,
  reason TEXT NOT NULL, since TEXT NOT NULL, PRIMARY KEY (email, category, basis));
"""


class Side:
    """Ledger and marks under the names the mapping gives them (default dsr_processed, dsr_restrictions)."""

    def __init__(self, names: SideTables) -> None:
        self.ddl = SIDE_SQL.format(ledger=names.ledger, marks=names.marks)
        self._ledger, self._marks = names.ledger, names.marks

    def first_time(self, conn: Conn, key: str, now: str) -> bool:
        """Record `key`; False if it was recorded before (a replayed submission, even after erasure)."""
        insert = f"INSERT INTO {self._ledger} (key, at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"
        return bool(conn.execute(insert, (key, now)).rowcount)

    def mark(self, conn: Conn, email: str, category: str, basis: str, reason: str, now: str) -> None:
        conn.execute(
            f"INSERT INTO {self._marks} (email, category, basis, reason, since) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (email, category, basis) DO UPDATE SET reason = excluded.reason",
            (email, category, basis, reason, now),
        )

    def unmark(self, conn: Conn, email: str, basis_pattern: str = "%") -> int:
        return conn.execute(
            f"DELETE FROM {self._marks} WHERE email = ? AND basis LIKE ?", (email, basis_pattern)
        ).rowcount

    def reasons(self, conn: Conn, email: str, category: str) -> list[str]:
        rows = conn.execute(
            f"SELECT reason FROM {self._marks} WHERE email = ? AND category IN (?, ?)",
            (email, category, ALL_CATEGORIES),
        )
        return [row["reason"] for row in rows]
