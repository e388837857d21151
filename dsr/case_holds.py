"""The legal holds placed on cases, where every worker and the retention sweep see them: PostgreSQL or SQLite."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from dsr.pg_link import PgLink
from schemas.tasks import LegalHold

PG_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS dsr_holds;
CREATE TABLE IF NOT EXISTS dsr_holds.case_holds (
    request_id TEXT NOT NULL, hold_id TEXT NOT NULL, subject_ref TEXT NOT NULL, hold TEXT NOT NULL,
    PRIMARY KEY (request_id, hold_id)
);
"""
_DELETE = "DELETE FROM {table} WHERE request_id = {p}"
_INSERT = "INSERT INTO {table} VALUES ({p}, {p}, {p}, {p})"
_ALL = "SELECT subject_ref, hold FROM {table} ORDER BY request_id, hold_id"


def _rows(request_id: str, subject_ref: str, holds: list[LegalHold]) -> list[tuple[str, str, str, str]]:
    return [(request_id, h.hold_id, subject_ref, h.model_dump_json()) for h in holds]


def _holds(rows) -> list[tuple[str, LegalHold]]:
    return [(ref, LegalHold.model_validate_json(hold)) for ref, hold in rows]


class PostgresCaseHolds:
    """CaseHolds where the key vault is (DSR_VAULT_DSN, schema dsr_holds): one transaction per case's change."""

    def __init__(self, dsn: str, setting: str = "DSR_VAULT_DSN") -> None:
        self._link = PgLink(dsn, setting, PG_SCHEMA)

    def put(self, request_id: str, subject_ref: str, holds: list[LegalHold]) -> None:
        def replace(conn) -> None:
            with conn.transaction():
                conn.execute(_DELETE.format(table="dsr_holds.case_holds", p="%s"), (request_id,))
                for row in _rows(request_id, subject_ref, holds):
                    conn.execute(_INSERT.format(table="dsr_holds.case_holds", p="%s"), row)

        self._link.run(replace)

    def all(self) -> list[tuple[str, LegalHold]]:
        return _holds(self._link.run(lambda conn: conn.execute(_ALL.format(table="dsr_holds.case_holds")).fetchall()))

    def close(self) -> None:
        self._link.close()


class SqliteCaseHolds:
    """CaseHolds in a SQLite file beside the key vault's: one worker, or the processes of one machine."""

    def __init__(self, path: Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._lock = threading.Lock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS case_holds (request_id TEXT NOT NULL, hold_id TEXT NOT NULL, "
            "subject_ref TEXT NOT NULL, hold TEXT NOT NULL, PRIMARY KEY (request_id, hold_id))"
        )

    def put(self, request_id: str, subject_ref: str, holds: list[LegalHold]) -> None:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(_DELETE.format(table="case_holds", p="?"), (request_id,))
                self._conn.executemany(_INSERT.format(table="case_holds", p="?"), _rows(request_id, subject_ref, holds))
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def all(self) -> list[tuple[str, LegalHold]]:
        with self._lock:
            return _holds(self._conn.execute(_ALL.format(table="case_holds")).fetchall())

    def close(self) -> None:
        with self._lock:
            self._conn.close()
