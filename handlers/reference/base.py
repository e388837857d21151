"""The shared base of the SQLite reference systems: database, export categories and the adapter verbs."""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from handlers.memory import capabilities_for
from handlers.protocol import ErasureReport, Export, LookupAnswer, Subject
from schemas.identity import normalize_email
from schemas.tasks import KeptItem, TaskAction

Clock = Callable[[], datetime]
Conn = sqlite3.Connection

BOOL_FIELDS = frozenset({"granted", "talent_pool_consent"})

# Keys of what was already written (submission ids, seed keys): kept after erasure, and holding no
# personal data, so a replayed task or a restart's seeding never brings an erased person back.
LEDGER_SQL = "CREATE TABLE IF NOT EXISTS processed (key TEXT PRIMARY KEY, at TEXT NOT NULL);"


class UnsupportedSubmission(ValueError):
    """A form this system does not own was routed to it."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class _Database:
    """One SQLite file behind a lock: the runtime calls the verbs from worker threads."""

    def __init__(self, path: str | Path, schema: str) -> None:
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._conn.execute("PRAGMA secure_delete=ON")  # erased rows are zeroed, not left in free pages
        if str(path) != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(LEDGER_SQL + schema)

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


@dataclass(frozen=True)
class Category:
    """One category of the export: the table holding it and where its data come from (R23, R28)."""

    name: str
    table: str
    origin: str
    inferred: tuple[str, ...] = ()


class SqliteSystem:
    """What the three reference systems share: the verbs over tables keyed by normalized e-mail."""

    name = ""
    SCHEMA = ""
    CATEGORIES: tuple[Category, ...] = ()

    def __init__(self, path: str | Path, clock: Clock = utcnow) -> None:
        self.capabilities = capabilities_for(TaskAction)
        self._db = _Database(path, self.SCHEMA)
        self._clock = clock

    def close(self) -> None:
        self._db.close()

    def record_submission(self, submission_id: str, kind: str, subject: Subject, data: dict) -> None:
        email = normalize_email(subject.email)
        self._write_once(submission_id, lambda conn: self._record(conn, submission_id, kind, email, data))

    def lookup(self, subject: Subject) -> LookupAnswer:
        email = normalize_email(subject.email)
        with self._db.transaction() as conn:
            held = any(_exists(conn, c.table, email) for c in self.CATEGORIES)
            return LookupAnswer(holds_data=held, channels=self._channels(conn, email) if held else ())

    def export(self, subject: Subject) -> Export:
        email = normalize_email(subject.email)
        with self._db.transaction() as conn:
            records = {c.name: rows for c in self.CATEGORIES if (rows := self._rows(conn, c, email))}
            records.update(self._archived(conn, email))
        return Export(records=records)

    def erase(self, subject: Subject) -> ErasureReport:
        email = normalize_email(subject.email)
        with self._db.transaction() as conn:
            self._before_erase(conn, email)
            erased = sum(delete_rows(conn, c.table, email) for c in self.CATEGORIES)
            kept = self._after_erase(conn, email, erased)
        self._db.purge_wal()
        return ErasureReport(erased_items=erased, kept=kept)

    def _now(self) -> str:
        return self._clock().isoformat()

    def _write_once(self, key: str | None, write: Callable[[Conn], object]) -> None:
        """Write unless `key` was written before; the key and the write commit together."""
        with self._db.transaction() as conn:
            if key is None or conn.execute("INSERT OR IGNORE INTO processed VALUES (?, ?)",
                                           (key, self._now())).rowcount:
                write(conn)

    def _rows(self, conn: Conn, category: Category, email: str) -> list[dict]:
        rows = conn.execute(f"SELECT * FROM {category.table} WHERE email = ? ORDER BY rowid", (email,))
        tags = {"_origin": category.origin}
        if category.inferred:  # R23: derived fields are named, so the person can tell them apart
            tags["_inferred_fields"] = list(category.inferred)
        return [self._decorate(category, plain_row(row)) | tags for row in rows]

    # Hooks for each system.
    def _record(self, conn: Conn, submission_id: str, kind: str, email: str, data: dict) -> None:
        raise NotImplementedError

    def _channels(self, conn: Conn, email: str) -> tuple[str, ...]:
        return ("email",)

    def _decorate(self, category: Category, record: dict) -> dict:
        return record

    def _archived(self, conn: Conn, email: str) -> dict[str, list[dict]]:
        return {}

    def _before_erase(self, conn: Conn, email: str) -> None:
        pass

    def _after_erase(self, conn: Conn, email: str, erased: int) -> tuple[KeptItem, ...]:
        return ()


def _exists(conn: Conn, table: str, email: str) -> bool:
    return conn.execute(f"SELECT 1 FROM {table} WHERE email = ? LIMIT 1", (email,)).fetchone() is not None


def delete_rows(conn: Conn, table: str, email: str) -> int:
    return conn.execute(f"DELETE FROM {table} WHERE email = ?", (email,)).rowcount


def plain_row(row: sqlite3.Row) -> dict:
    return {k: bool(row[k]) if k in BOOL_FIELDS and row[k] is not None else row[k] for k in row.keys()}


def unsupported(system: str, kind: str) -> UnsupportedSubmission:
    return UnsupportedSubmission(f"{system} does not record '{kind}' submissions")
