"""SQLite plumbing shared by the reference systems: one locked connection, row helpers, dates."""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path

Clock = Callable[[], datetime]
Conn = sqlite3.Connection

BOOL_FIELDS = frozenset({"granted", "talent_pool_consent"})


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class Database:
    """One SQLite file behind a lock: the runtime calls the verbs from worker threads."""

    def __init__(self, path: str | Path, schema: str) -> None:
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._conn.execute("PRAGMA secure_delete=ON")  # erased rows are zeroed, not left in free pages
        if str(path) != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(schema)

    @contextmanager
    def transaction(self) -> Iterator[Conn]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def purge_wal(self) -> None:
        """Copy the WAL into the database and empty it: its old frames still hold erased rows."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def exists(conn: Conn, table: str, email: str) -> bool:
    return conn.execute(f"SELECT 1 FROM {table} WHERE email = ? LIMIT 1", (email,)).fetchone() is not None


def count_rows(conn: Conn, table: str, email: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table} WHERE email = ?", (email,)).fetchone()[0]


def delete_rows(conn: Conn, table: str, email: str) -> int:
    return conn.execute(f"DELETE FROM {table} WHERE email = ?", (email,)).rowcount


def table_columns(conn: Conn, table: str) -> frozenset[str]:
    return frozenset(row["name"] for row in conn.execute(f"PRAGMA table_info({table})"))


def plain_row(row: sqlite3.Row) -> dict:
    return {k: bool(row[k]) if k in BOOL_FIELDS and row[k] is not None else row[k] for k in row.keys()}
