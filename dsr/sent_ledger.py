"""The sent-e-mail ledger where workers share it: PostgreSQL (schema dsr_mail), or a SQLite file for one machine."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection
from datetime import datetime, timedelta
from pathlib import Path

from dsr.pg_link import PgLink
from mail.ledger import DEFAULT_LEASE, Claim

KEEP_DAYS = 30  # a copy is redelivered within the mail retry budget (hours); the faust table keeps the rest

PG_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS dsr_mail;
CREATE TABLE IF NOT EXISTS dsr_mail.sent (
    message_id TEXT PRIMARY KEY, request_id TEXT NOT NULL,
    claim_until TIMESTAMPTZ NOT NULL, sent_at TIMESTAMPTZ, touched_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS sent_request ON dsr_mail.sent (request_id);
CREATE INDEX IF NOT EXISTS sent_touched ON dsr_mail.sent (touched_at);
"""
# Taken when nobody holds it: a new row, or a row whose claim lapsed and that was never sent. One statement, so
# two workers claiming together cannot both win.
_CLAIM = """
INSERT INTO {table} (message_id, request_id, claim_until, sent_at, touched_at) VALUES ({p}, {p}, {p}, NULL, {p})
ON CONFLICT (message_id) DO UPDATE SET claim_until = excluded.claim_until, touched_at = excluded.touched_at
WHERE {table}.sent_at IS NULL AND {table}.claim_until <= excluded.touched_at
"""
_SENT = "UPDATE {table} SET sent_at = {p}, touched_at = {p} WHERE message_id = {p}"
_RELEASE = "DELETE FROM {table} WHERE message_id = {p} AND sent_at IS NULL"
_FORGET = "DELETE FROM {table} WHERE request_id = {p}"
_STATE = "SELECT sent_at FROM {table} WHERE message_id = {p}"
_PRUNE = "DELETE FROM {table} WHERE touched_at < {p}"
_SENT_AMONG = "SELECT message_id FROM {table} WHERE sent_at IS NOT NULL AND message_id IN ({among})"
ASKED_AT_ONCE = 500  # message ids in one statement (SQLite allows 999 parameters at least)


def _sent_among(table: str, placeholder: str, count: int) -> str:
    return _SENT_AMONG.format(table=table, among=", ".join([placeholder] * count))


def _chunks(message_ids: Collection[str]) -> list[list[str]]:
    ids = sorted(set(message_ids))
    return [ids[i : i + ASKED_AT_ONCE] for i in range(0, len(ids), ASKED_AT_ONCE)]


def _sql(statement: str, table: str, placeholder: str) -> str:
    return statement.format(table=table, p=placeholder)


def _claimed(rowcount: int, sent_at) -> Claim:
    if rowcount == 1:
        return Claim.SEND
    return Claim.SENT if sent_at is not None else Claim.HELD


class PostgresSentLedger:
    """SentLedger for workers that share the work (DSR_VAULT_DSN); each call is one statement on the server."""

    def __init__(self, dsn: str, now: datetime, lease: timedelta = DEFAULT_LEASE, setting: str = "DSR_VAULT_DSN"):
        self.lease = lease
        self._link = PgLink(dsn, setting, PG_SCHEMA)
        self._run(_PRUNE, now - timedelta(days=KEEP_DAYS))

    def claim(self, message_id: str, request_id: str, now: datetime) -> Claim:
        taken = self._run(_CLAIM, message_id, request_id, now + self.lease, now)
        if taken:
            return Claim.SEND
        row = self._link.run(lambda conn: conn.execute(_sql(_STATE, "dsr_mail.sent", "%s"), (message_id,)).fetchone())
        if row is None:  # released between the two statements: free again
            return self.claim(message_id, request_id, now)
        return _claimed(0, row[0])

    def mark_sent(self, message_id: str, now: datetime) -> None:
        self._run(_SENT, now, now, message_id)

    def release(self, message_id: str) -> None:
        self._run(_RELEASE, message_id)

    def sent(self, message_ids: Collection[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(message_ids):
            found |= {row[0] for row in self._rows(_sent_among("dsr_mail.sent", "%s", len(chunk)), chunk)}
        return found

    def _rows(self, statement: str, params: list[str]) -> list[tuple]:
        return self._link.run(lambda conn: conn.execute(statement, params).fetchall())

    def forget_case(self, request_id: str) -> int:
        return self._run(_FORGET, request_id)

    def close(self) -> None:
        self._link.close()

    def _run(self, statement: str, *params) -> int:
        return self._link.run(lambda conn: conn.execute(_sql(statement, "dsr_mail.sent", "%s"), params).rowcount)


class SqliteSentLedger:
    """SentLedger in a SQLite file: one worker, or the worker processes of one machine (WAL)."""

    def __init__(self, path: Path, now: datetime, lease: timedelta = DEFAULT_LEASE) -> None:
        self.lease = lease
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._lock = threading.Lock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS sent (message_id TEXT PRIMARY KEY, request_id TEXT NOT NULL, "
            "claim_until TEXT NOT NULL, sent_at TEXT, touched_at TEXT NOT NULL)"
        )
        self._run(_PRUNE, (now - timedelta(days=KEEP_DAYS)).isoformat())

    def claim(self, message_id: str, request_id: str, now: datetime) -> Claim:
        with self._lock:
            taken = self._conn.execute(
                _sql(_CLAIM, "sent", "?"), (message_id, request_id, (now + self.lease).isoformat(), now.isoformat())
            ).rowcount
            row = self._conn.execute(_sql(_STATE, "sent", "?"), (message_id,)).fetchone()
        return _claimed(taken, row[0] if row else None)

    def mark_sent(self, message_id: str, now: datetime) -> None:
        self._run(_SENT, now.isoformat(), now.isoformat(), message_id)

    def release(self, message_id: str) -> None:
        self._run(_RELEASE, message_id)

    def sent(self, message_ids: Collection[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(message_ids):
            with self._lock:
                found |= {row[0] for row in self._conn.execute(_sent_among("sent", "?", len(chunk)), chunk)}
        return found

    def forget_case(self, request_id: str) -> int:
        return self._run(_FORGET, request_id)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _run(self, statement: str, *params) -> int:
        with self._lock:
            return self._conn.execute(_sql(statement, "sent", "?"), params).rowcount
