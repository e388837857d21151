"""Restriction marks in a reference system's database: Art. 18 restrictions and legal holds (R27, R46)."""

from __future__ import annotations

from handlers.reference.db import Conn
from handlers.verbs import ALL_CATEGORIES

# A table of its own rather than a column on each table: one mark covers every table of the system
# ('*') or one export category (a hold), and dev databases created before it gain it by
# CREATE TABLE IF NOT EXISTS, with no ALTER TABLE. basis: "art18", or "hold:<hold_id>".
MARKS_SQL = """
CREATE TABLE IF NOT EXISTS restrictions (email TEXT NOT NULL, category TEXT NOT NULL, basis TEXT NOT NULL,
  reason TEXT NOT NULL, since TEXT NOT NULL, PRIMARY KEY (email, category, basis));
"""

# SQL condition for marketing lists: nobody under any mark (Art. 18(2): storage only; R46).
NOT_RESTRICTED = "NOT EXISTS (SELECT 1 FROM restrictions r WHERE r.email = {table}.email)"

MARK = """
INSERT INTO restrictions (email, category, basis, reason, since) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (email, category, basis) DO UPDATE SET reason = excluded.reason
"""


def mark(conn: Conn, email: str, category: str, basis: str, reason: str, now: str) -> None:
    conn.execute(MARK, (email, category, basis, reason, now))


def unmark(conn: Conn, email: str, basis_pattern: str = "%") -> int:
    """Remove the marks whose basis matches a LIKE pattern; how many there were."""
    return conn.execute("DELETE FROM restrictions WHERE email = ? AND basis LIKE ?", (email, basis_pattern)).rowcount


def reasons_by_category(conn: Conn, email: str) -> dict[str, list[str]]:
    reasons: dict[str, list[str]] = {}
    for row in conn.execute("SELECT category, reason FROM restrictions WHERE email = ?", (email,)):
        reasons.setdefault(row["category"], []).append(row["reason"])
    return reasons


def reasons_for(reasons: dict[str, list[str]], category: str) -> list[str]:
    return reasons.get(category, []) + reasons.get(ALL_CATEGORIES, [])


def held(conn: Conn, email: str) -> frozenset[str]:
    """Categories under a legal hold ('*' for all): they must not be deleted until it is released (R46)."""
    rows = conn.execute("SELECT category FROM restrictions WHERE email = ? AND basis LIKE 'hold:%'", (email,))
    return frozenset(row["category"] for row in rows)


def is_restricted(conn: Conn, email: str) -> bool:
    return conn.execute("SELECT 1 FROM restrictions WHERE email = ? LIMIT 1", (email,)).fetchone() is not None
