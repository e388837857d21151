"""The key vault: subject keys wrapped under the master key, on SQLite (embedded) or PostgreSQL (shared)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dsr.pg_link import PgLink
from gdpr.sealing import Lease, new_key

T = TypeVar("T")

SCHEMA = "CREATE TABLE IF NOT EXISTS subject_keys (subject_ref TEXT PRIMARY KEY, nonce BLOB, wrapped BLOB)"
# Leases on keys used by no case (gdpr.sealing.Lease): a key created under leases goes with the last of them.
LEASES = (
    "CREATE TABLE IF NOT EXISTS key_leases (subject_ref TEXT NOT NULL, holder TEXT NOT NULL, until TEXT NOT NULL, "
    "PRIMARY KEY (subject_ref, holder))",
    "CREATE INDEX IF NOT EXISTS key_leases_holder ON key_leases (holder)",
    "CREATE INDEX IF NOT EXISTS key_leases_until ON key_leases (until)",
)
_LEASED = "EXISTS (SELECT 1 FROM {leases} l WHERE l.subject_ref = k.subject_ref)"
# Dead rows of destroyed keys are vacuumed after a hundred destructions rather than a fifth of the table.
PG_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS dsr_vault;
CREATE TABLE IF NOT EXISTS dsr_vault.subject_keys (
    subject_ref TEXT PRIMARY KEY, nonce BYTEA NOT NULL, wrapped BYTEA NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 100);
CREATE TABLE IF NOT EXISTS dsr_vault.key_leases (
    subject_ref TEXT NOT NULL, holder TEXT NOT NULL, until TIMESTAMPTZ NOT NULL, PRIMARY KEY (subject_ref, holder)
);
CREATE INDEX IF NOT EXISTS key_leases_holder ON dsr_vault.key_leases (holder);
CREATE INDEX IF NOT EXISTS key_leases_until ON dsr_vault.key_leases (until);
"""


class KeyWrapper:
    """AES-GCM under a key derived from the master secret, bound to the subject ref: a wrapped key
    copied out of the vault (a page, a backup) opens nothing without DSR_SECRET_KEY."""

    def __init__(self, master_secret: bytes) -> None:
        self._master = AESGCM(hashlib.sha256(b"dsr-vault:" + master_secret).digest())

    def wrap(self, subject_ref: str, key: bytes) -> tuple[bytes, bytes]:
        nonce = os.urandom(12)
        return nonce, self._master.encrypt(nonce, key, subject_ref.encode())

    def unwrap(self, subject_ref: str, nonce: bytes, wrapped: bytes) -> bytes:
        return self._master.decrypt(nonce, wrapped, subject_ref.encode())


class SqliteKeyVault:
    """KeyVault port. `secure_delete` overwrites freed pages and the WAL is checkpointed after each
    destruction, so a destroyed key leaves no copy in the file (crypto-shredding needs that)."""

    def __init__(self, path: Path | str, master_secret: bytes) -> None:
        self._wrapper = KeyWrapper(master_secret)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.execute("PRAGMA journal_mode=WAL")
            for ddl in (SCHEMA, *LEASES):
                self._db.execute(ddl)

    def key_for(self, subject_ref: str, lease: Lease | None = None) -> bytes:
        with self._lock:
            row = self._db.execute(
                f"SELECT nonce, wrapped, {_LEASED.format(leases='key_leases')} FROM subject_keys k "
                "WHERE subject_ref = ?",
                (subject_ref,),
            ).fetchone()
        if row is not None and not row[2]:  # a case's key, or claimed: a lease changes nothing (the common path)
            return self._wrapper.unwrap(subject_ref, row[0], row[1])
        self._write(lambda: self._lease(subject_ref, lease))
        return self._load(subject_ref)  # another writer may have won the race: read back what is stored

    def _lease(self, subject_ref: str, lease: Lease | None) -> None:
        nonce, wrapped = self._wrapper.wrap(subject_ref, new_key())
        insert = "INSERT OR IGNORE INTO subject_keys VALUES (?, ?, ?)"
        created = self._db.execute(insert, (subject_ref, nonce, wrapped)).rowcount == 1
        leased = self._db.execute("SELECT 1 FROM key_leases WHERE subject_ref = ?", (subject_ref,)).fetchone()
        if lease is None:  # a case or a form submission uses the key: theirs now
            self._db.execute("DELETE FROM key_leases WHERE subject_ref = ?", (subject_ref,))
        elif created or leased:
            self._db.execute(
                "INSERT INTO key_leases VALUES (?, ?, ?) ON CONFLICT (subject_ref, holder) "
                "DO UPDATE SET until = max(until, excluded.until)",
                (subject_ref, lease.holder, _stamp(lease.until)),
            )

    def get(self, subject_ref: str) -> bytes | None:
        return self._load(subject_ref)  # no cache: another process may have destroyed the key

    def _load(self, subject_ref: str) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT nonce, wrapped FROM subject_keys WHERE subject_ref = ?", (subject_ref,)
            ).fetchone()
        return None if row is None else self._wrapper.unwrap(subject_ref, row[0], row[1])

    def destroy(self, subject_ref: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM subject_keys WHERE subject_ref = ?", (subject_ref,))
            self._db.execute("DELETE FROM key_leases WHERE subject_ref = ?", (subject_ref,))
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def release(self, holder: str) -> list[str]:
        return self._end("holder = ?", holder)

    def expire(self, now: datetime) -> list[str]:
        return self._end("until < ?", _stamp(now))

    def _end(self, which: str, value: str) -> list[str]:
        """End the leases `which` selects; destroy the keys left with none, one transaction."""

        def end() -> list[str]:
            refs = [
                r[0] for r in self._db.execute(f"SELECT DISTINCT subject_ref FROM key_leases WHERE {which}", (value,))
            ]
            self._db.execute(f"DELETE FROM key_leases WHERE {which}", (value,))
            orphan = (
                f"DELETE FROM subject_keys AS k WHERE subject_ref = ? AND NOT {_LEASED.format(leases='key_leases')}"
            )
            return sorted(ref for ref in refs if self._db.execute(orphan, (ref,)).rowcount)

        gone = self._write(end)
        if gone:
            with self._lock:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return gone

    def _write(self, work: Callable[[], T]) -> T:
        """One write transaction, taken at once (BEGIN IMMEDIATE): the workers and `dsr retention` share the file."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                done = work()
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return done

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PostgresKeyVault:
    """KeyVault port shared by every worker (DSR_VAULT_DSN). Every read goes to the server and no
    worker keeps a key in memory, so a destruction committed by one worker is seen by all at once.
    PostgreSQL has no secure_delete: the deleted wrapped key may linger in pages, WAL, replicas and
    backups until they are overwritten or expire; wrapped, it opens nothing without the master secret
    (README, "Running in production")."""

    def __init__(self, dsn: str, master_secret: bytes, setting: str = "DSR_VAULT_DSN") -> None:
        self._wrapper = KeyWrapper(master_secret)
        self._link = PgLink(dsn, setting, PG_SCHEMA)

    def key_for(self, subject_ref: str, lease: Lease | None = None) -> bytes:
        query = f"SELECT nonce, wrapped, {_LEASED.format(leases='dsr_vault.key_leases')} FROM dsr_vault.subject_keys k "
        row = self._link.run(lambda conn: conn.execute(query + "WHERE subject_ref = %s", (subject_ref,)).fetchone())
        if row is not None and not row[2]:  # a case's key, or claimed: a lease changes nothing (the common path)
            return self._wrapper.unwrap(subject_ref, bytes(row[0]), bytes(row[1]))
        key = None
        while key is None:  # None: destroyed between the insert and the lock; the next turn creates it
            self._lease(subject_ref, lease)
            key = self._load(subject_ref)  # another worker may have won the race: read back what is stored
        return key

    def _lease(self, subject_ref: str, lease: Lease | None) -> None:
        wrapped = self._wrapper.wrap(subject_ref, new_key())
        self._link.run(lambda conn: _pg_lease(conn, subject_ref, wrapped, lease))

    def get(self, subject_ref: str) -> bytes | None:
        return self._load(subject_ref)

    def _load(self, subject_ref: str) -> bytes | None:
        row = self._link.run(
            lambda conn: conn.execute(
                "SELECT nonce, wrapped FROM dsr_vault.subject_keys WHERE subject_ref = %s", (subject_ref,)
            ).fetchone()
        )
        return None if row is None else self._wrapper.unwrap(subject_ref, bytes(row[0]), bytes(row[1]))

    def destroy(self, subject_ref: str) -> None:
        def destroy(conn) -> None:
            with conn.transaction():
                conn.execute("DELETE FROM dsr_vault.subject_keys WHERE subject_ref = %s", (subject_ref,))
                conn.execute("DELETE FROM dsr_vault.key_leases WHERE subject_ref = %s", (subject_ref,))

        self._link.run(destroy)

    def release(self, holder: str) -> list[str]:
        return self._link.run(lambda conn: _pg_end(conn, "holder = %s", holder))

    def expire(self, now: datetime) -> list[str]:
        return self._link.run(lambda conn: _pg_end(conn, "until < %s", now))

    def close(self) -> None:
        self._link.close()


def _pg_lease(conn, subject_ref: str, wrapped: tuple[bytes, bytes], lease: Lease | None) -> None:
    """Under the key row's lock, taken first as `_pg_end` takes it, so a lease and a destruction never cross."""
    with conn.transaction():
        insert = "INSERT INTO dsr_vault.subject_keys VALUES (%s, %s, %s) ON CONFLICT (subject_ref) DO NOTHING"
        created = conn.execute(insert, (subject_ref, *wrapped)).rowcount == 1
        lock = "SELECT 1 FROM dsr_vault.subject_keys WHERE subject_ref = %s FOR UPDATE"
        if conn.execute(lock, (subject_ref,)).fetchone() is None:
            return  # destroyed meanwhile
        leased = conn.execute("SELECT 1 FROM dsr_vault.key_leases WHERE subject_ref = %s", (subject_ref,)).fetchone()
        if lease is None:  # a case or a form submission uses the key: theirs now
            conn.execute("DELETE FROM dsr_vault.key_leases WHERE subject_ref = %s", (subject_ref,))
        elif created or leased:
            conn.execute(
                "INSERT INTO dsr_vault.key_leases VALUES (%s, %s, %s) ON CONFLICT (subject_ref, holder) "
                "DO UPDATE SET until = GREATEST(key_leases.until, EXCLUDED.until)",
                (subject_ref, lease.holder, lease.until),
            )


def _pg_end(conn, which: str, value: object) -> list[str]:
    """End the leases `which` selects, person by person under the key row's lock; destroy the keys left with none."""
    refs = conn.execute(f"SELECT DISTINCT subject_ref FROM dsr_vault.key_leases WHERE {which}", (value,)).fetchall()
    gone = []
    for (ref,) in sorted(refs):
        with conn.transaction():
            conn.execute("SELECT 1 FROM dsr_vault.subject_keys WHERE subject_ref = %s FOR UPDATE", (ref,))
            conn.execute(f"DELETE FROM dsr_vault.key_leases WHERE subject_ref = %s AND {which}", (ref, value))
            orphan = "DELETE FROM dsr_vault.subject_keys AS k WHERE subject_ref = %s AND NOT " + _LEASED.format(
                leases="dsr_vault.key_leases"
            )
            if conn.execute(orphan, (ref,)).rowcount:
                gone.append(ref)
    return gone


def _stamp(moment: datetime) -> str:
    """A fixed-width UTC text, so that SQLite compares lease ends as it compares strings."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
