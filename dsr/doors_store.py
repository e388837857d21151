"""The front doors' shared state in SQLite beside the vault, or in PostgreSQL (schema dsr_doors)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dsr.pg_link import PgLink
from streams.doors_port import DAY, Account, AccountExists, Role, Session, wait_for, window_start

TABLES = """
CREATE TABLE IF NOT EXISTS {p}accounts (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL, enabled BOOLEAN NOT NULL,
    failures INTEGER NOT NULL, locked_until DOUBLE PRECISION, token_serial INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS {p}sessions (
    session_key TEXT PRIMARY KEY, name TEXT NOT NULL, csrf TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS {p}rate_hits (
    bucket TEXT NOT NULL, window_start BIGINT NOT NULL, hits INTEGER NOT NULL, PRIMARY KEY (bucket, window_start)
);
CREATE TABLE IF NOT EXISTS {p}answers (key TEXT PRIMARY KEY, answer TEXT NOT NULL, given_at DOUBLE PRECISION NOT NULL);
"""
Rows = list[tuple]


class SqlFrontDoorStore:
    """FrontDoorStore on any SQL engine that `run(sql, params) -> rows` reaches; `%s` marks parameters and
    `{p}` the tables' schema prefix. Times are stored as epoch seconds: the same on both engines."""

    def __init__(self, run: Callable[[str, Sequence], Rows], prefix: str) -> None:
        self._run, self._p = run, prefix

    def _q(self, sql: str, *params) -> Rows:
        return self._run(sql.replace("{p}", self._p), params)

    def add_account(self, name: str, role: Role, password_hash: str) -> None:
        inserted = self._q(
            "INSERT INTO {p}accounts VALUES (%s, %s, %s, TRUE, 0, NULL, 0) "
            "ON CONFLICT (name) DO NOTHING RETURNING name",
            name,
            Role(role).value,
            password_hash,
        )
        if not inserted:
            raise AccountExists(name)

    def account(self, name: str) -> Account | None:
        rows = self._q(
            "SELECT name, role, password_hash, enabled, failures, locked_until, token_serial "
            "FROM {p}accounts WHERE name = %s",
            name,
        )
        if not rows:
            return None
        name, role, hashed, enabled, failures, locked, serial = rows[0]
        return Account(name, Role(role), hashed, bool(enabled), failures, _time(locked), serial)

    def set_enabled(self, name: str, enabled: bool) -> bool:
        reset = ", failures = 0, locked_until = NULL" if enabled else ""
        found = self._q(f"UPDATE {{p}}accounts SET enabled = %s{reset} WHERE name = %s RETURNING name", enabled, name)
        if found and not enabled:
            self._q("DELETE FROM {p}sessions WHERE name = %s", name)
        return bool(found)

    def login_failed(self, name: str, now: datetime, limit: int, lock_for: timedelta) -> None:
        self._q(
            "UPDATE {p}accounts SET failures = failures + 1, locked_until = CASE WHEN failures + 1 >= %s "
            "THEN %s ELSE locked_until END WHERE name = %s",
            limit,
            (now + lock_for).timestamp(),
            name,
        )

    def login_succeeded(self, name: str) -> None:
        self._q("UPDATE {p}accounts SET failures = 0, locked_until = NULL WHERE name = %s", name)

    def new_token_serial(self, name: str) -> int:
        rows = self._q(
            "UPDATE {p}accounts SET token_serial = token_serial + 1 WHERE name = %s RETURNING token_serial", name
        )
        return rows[0][0]

    def open_session(self, session_key: str, session: Session) -> None:
        self._q(
            "INSERT INTO {p}sessions VALUES (%s, %s, %s, %s)",
            session_key,
            session.name,
            session.csrf,
            session.expires_at.timestamp(),
        )

    def session(self, session_key: str, now: datetime) -> Session | None:
        rows = self._q(
            "SELECT s.name, s.csrf, s.expires_at FROM {p}sessions s JOIN {p}accounts a ON a.name = s.name "
            "WHERE s.session_key = %s AND s.expires_at > %s AND a.enabled",
            session_key,
            now.timestamp(),
        )
        return Session(rows[0][0], rows[0][1], _time(rows[0][2])) if rows else None

    def close_session(self, session_key: str) -> None:
        self._q("DELETE FROM {p}sessions WHERE session_key = %s", session_key)

    def hit(self, bucket: str, now: datetime, window: timedelta, limit: int, count: int = 1) -> float:
        rows = self._q(  # one atomic statement: two workers counting at once both count
            "INSERT INTO {p}rate_hits VALUES (%s, %s, %s) ON CONFLICT (bucket, window_start) "
            "DO UPDATE SET hits = rate_hits.hits + EXCLUDED.hits RETURNING hits",
            bucket,
            window_start(now, window),
            count,
        )
        return 0.0 if rows[0][0] <= limit else wait_for(now, window)

    def remember_answer(self, key: str, answer: str, now: datetime) -> None:
        self._q("INSERT INTO {p}answers VALUES (%s, %s, %s) ON CONFLICT (key) DO NOTHING", key, answer, now.timestamp())

    def answer(self, key: str) -> str | None:
        rows = self._q("SELECT answer FROM {p}answers WHERE key = %s", key)
        return rows[0][0] if rows else None

    def forget_expired(self, now: datetime, answers_kept: timedelta) -> None:
        self._q("DELETE FROM {p}sessions WHERE expires_at <= %s", now.timestamp())
        self._q("DELETE FROM {p}rate_hits WHERE window_start < %s", now.timestamp() - DAY)
        self._q("DELETE FROM {p}answers WHERE given_at < %s", (now - answers_kept).timestamp())


def _time(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def sqlite_store(path: Path) -> SqlFrontDoorStore:
    """One file beside the key vault: every process on this machine shares it (WAL, a busy timeout)."""
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
    lock = threading.Lock()
    with lock:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(TABLES.replace("{p}", ""))

    def run(sql: str, params: Sequence) -> Rows:
        with lock:
            return db.execute(sql.replace("%s", "?"), params).fetchall()

    return SqlFrontDoorStore(run, "")


def postgres_store(dsn: str, setting: str = "DSR_VAULT_DSN") -> SqlFrontDoorStore:
    link = PgLink(dsn, setting, "CREATE SCHEMA IF NOT EXISTS dsr_doors;" + TABLES.replace("{p}", "dsr_doors."))

    def run(sql: str, params: Sequence) -> Rows:
        return link.run(lambda conn: _rows(conn.execute(sql, params)))

    return SqlFrontDoorStore(run, "dsr_doors.")


def _rows(cursor) -> Rows:
    return cursor.fetchall() if cursor.description else []
