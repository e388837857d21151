"""One PostgreSQL connection shared by a store's threads, reopened when the server dropped it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import psycopg

T = TypeVar("T")


class StoreUnreachable(RuntimeError):
    """The PostgreSQL server named by a setting cannot be reached; the text names the setting."""


class PgLink:
    """An autocommit connection behind a lock: each call is one short statement, so one connection
    serves a worker, and a statement sees every commit of every other worker (no cache to invalidate).
    A statement that fails on a broken connection is run once more on a new one: callers only send
    idempotent statements (upserts, deletes, reads)."""

    def __init__(self, dsn: str, setting: str, ddl: str) -> None:
        self._dsn, self._setting = dsn, setting
        self._lock = threading.Lock()
        self._conn: psycopg.Connection | None = None
        self.run(lambda conn: _create(conn, ddl))

    def run(self, work: Callable[[psycopg.Connection], T]) -> T:
        with self._lock:
            try:
                return work(self._connection())
            except psycopg.OperationalError:
                self._drop()
                return work(self._connection())

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=10)
            except psycopg.OperationalError as exc:
                reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
                raise StoreUnreachable(f"{self._setting}: PostgreSQL unreachable: {reason}") from None
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def close(self) -> None:
        with self._lock:
            self._drop()


def _create(conn: psycopg.Connection, ddl: str) -> None:
    with conn.transaction():  # workers starting together would race on CREATE ... IF NOT EXISTS
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('dsr-ddl', 0))")
        conn.execute(ddl)
