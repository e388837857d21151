"""Storage plumbing shared by the reference systems: SQLite or PostgreSQL behind one small interface.

The dialect differences are kept here and in handlers/reference/postgres.py, and nowhere else:
- SQL is written once, with `?` and `:name` placeholders; PostgreSQL gets them rewritten to psycopg's.
- DDL is written once; `{id}` stands for each table's explicit row id (SQLite: an alias of rowid).
- Booleans are BOOLEAN columns fed Python bools (SQLite stores 1/0; `plain_row` gives bools back).
- Rows are dicts on both. Upserts are `INSERT ... ON CONFLICT`, which both understand.
- Locking: SQLite takes one lock for everything (BEGIN IMMEDIATE); PostgreSQL serialises the
  transactions about one subject with an advisory lock on (schema, key), see `transaction(key)`.
- After erasing, `scrub()`: SQLite empties its WAL (secure_delete zeroes the pages) at once; PostgreSQL VACUUMs
  at most every `ScrubPolicy.erasures` erasures or `ScrubPolicy.seconds` after the first one not yet pruned.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from schemas.clock import Clock, utcnow  # noqa: F401 - the reference systems' clock, re-exported

BOOL_FIELDS = frozenset({"granted", "talent_pool_consent", "specific_consent", "positive_answer"})
ID_PLACEHOLDER = "{id}"


class Cursor(Protocol):
    rowcount: int
    description: Any

    def fetchone(self) -> dict | None: ...
    def fetchall(self) -> list[dict]: ...
    def __iter__(self) -> Iterator[dict]: ...


class Conn(Protocol):
    """What the systems' SQL runs on inside a transaction; rows are dicts."""

    def execute(self, sql: str, params: Any = ()) -> Cursor: ...


class Database(Protocol):
    """A reference system's store. Verbs about one person pass their key to `transaction`."""

    def transaction(self, key: str | None = None) -> AbstractContextManager[Conn]: ...
    def scrub(self) -> None: ...
    def close(self) -> None: ...


class StoreUnavailable(RuntimeError):
    """A reference system's store cannot be opened (server unreachable, bad credentials)."""


@dataclass(frozen=True)
class ScrubPolicy:
    """When PostgreSQL prunes erased rows (VACUUM): after `erasures` erasures, or `seconds` after the first erasure
    not yet pruned, whichever comes first, and when the system closes. A VACUUM scans the tables' indexes: run after
    every erasure, it is most of an erasure's cost on a large table; `erasures=1` does that."""

    erasures: int = 1000
    seconds: float = 60.0


@dataclass(frozen=True)
class PostgresStore:
    """Where a reference system keeps its tables on PostgreSQL: a server and a schema of its own."""

    dsn: str
    schema: str
    scrub: ScrubPolicy = ScrubPolicy()


Location = str | Path | PostgresStore  # a SQLite file, or a PostgreSQL schema


@dataclass(frozen=True)
class AddedColumn:
    """A column a table gained after databases were made without it (the DDL's CREATE TABLE IF NOT EXISTS leaves
    an existing table as it was): added on open where missing, so an existing database survives the upgrade, as
    the explicit ids did. Nullable, no default: the rows already there get NULL."""

    table: str
    column: str
    type: str

    def sql(self) -> str:
        return f"ALTER TABLE {self.table} ADD COLUMN {self.column} {self.type}"


def open_database(where: Location, ddl: str, added: tuple[AddedColumn, ...] = ()) -> Database:
    if isinstance(where, PostgresStore):
        from handlers.reference.postgres import PostgresDatabase  # psycopg is loaded only when used

        return PostgresDatabase(where, ddl, added)
    return SqliteDatabase(where, ddl, added)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _dict_row(cursor: sqlite3.Cursor, row: tuple) -> dict:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=False)}


class SqliteDatabase:
    """One SQLite file behind a lock: the runtime calls the verbs from worker threads."""

    def __init__(self, path: str | Path, ddl: str, added: tuple[AddedColumn, ...] = ()) -> None:
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = _dict_row
        self._lock = threading.Lock()
        self._conn.execute("PRAGMA secure_delete=ON")  # erased rows are zeroed, not left in free pages
        if str(path) != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        ddl = ddl.replace(ID_PLACEHOLDER, "INTEGER PRIMARY KEY")
        legacy = _tables_without_id(self._conn, ddl)
        for table in legacy:
            self._conn.execute(f"ALTER TABLE {table} RENAME TO {table}__old")
        self._conn.executescript(ddl)
        if legacy:
            _copy_legacy_rows(self._conn, legacy)
            self._conn.executescript(ddl)  # the indexes, dropped with the old tables
        for column in added:
            if column.column not in {r["name"] for r in self._conn.execute(f"PRAGMA table_info({column.table})")}:
                self._conn.execute(column.sql())

    @contextmanager
    def transaction(self, key: str | None = None) -> Iterator[Conn]:
        with self._lock:  # one writer at a time: the key needs no lock of its own
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def scrub(self) -> None:
        """Copy the WAL into the database and empty it: its old frames still hold erased rows."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _tables_without_id(conn: sqlite3.Connection, ddl: str) -> list[str]:
    """Tables of a file made before the explicit id columns (they ordered by the implicit rowid)."""
    tables = re.findall(r"CREATE TABLE IF NOT EXISTS (\w+) \(id INTEGER PRIMARY KEY", ddl)
    return [
        t
        for t in tables
        if (columns := {r["name"] for r in conn.execute(f"PRAGMA table_info({t})")}) and "id" not in columns
    ]


def _copy_legacy_rows(conn: sqlite3.Connection, tables: list[str]) -> None:
    """Rebuild them with the rowid as id, in one transaction: a dev database survives the upgrade."""
    conn.execute("BEGIN IMMEDIATE")
    for table in tables:
        columns = ", ".join(r["name"] for r in conn.execute(f"PRAGMA table_info({table}__old)"))
        conn.execute(f"INSERT INTO {table} (id, {columns}) SELECT rowid, {columns} FROM {table}__old")
        conn.execute(f"DROP TABLE {table}__old")
    conn.execute("COMMIT")


def exists(conn: Conn, table: str, email: str) -> bool:
    return conn.execute(f"SELECT 1 FROM {table} WHERE email = ? LIMIT 1", (email,)).fetchone() is not None


def count_rows(conn: Conn, table: str, email: str) -> int:
    return conn.execute(f"SELECT count(*) AS n FROM {table} WHERE email = ?", (email,)).fetchone()["n"]


def delete_rows(conn: Conn, table: str, email: str) -> int:
    return conn.execute(f"DELETE FROM {table} WHERE email = ?", (email,)).rowcount


def table_columns(conn: Conn, table: str) -> frozenset[str]:
    return frozenset(column[0] for column in conn.execute(f"SELECT * FROM {table} LIMIT 0").description)


def plain_row(row: dict) -> dict:
    """A row as exported: booleans as booleans, without the storage's row id."""
    return {k: bool(v) if k in BOOL_FIELDS and v is not None else v for k, v in row.items() if k != "id"}
