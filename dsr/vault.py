"""The key vault: subject keys wrapped under the master key, on SQLite (embedded) or PostgreSQL (shared)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dsr.pg_link import PgLink
from gdpr.sealing import new_key

SCHEMA = "CREATE TABLE IF NOT EXISTS subject_keys (subject_ref TEXT PRIMARY KEY, nonce BLOB, wrapped BLOB)"
# Dead rows of destroyed keys are vacuumed after a hundred destructions rather than a fifth of the table.
PG_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS dsr_vault;
CREATE TABLE IF NOT EXISTS dsr_vault.subject_keys (
    subject_ref TEXT PRIMARY KEY, nonce BYTEA NOT NULL, wrapped BYTEA NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 100);
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
            self._db.execute(SCHEMA)

    def key_for(self, subject_ref: str) -> bytes:
        key = self.get(subject_ref)
        if key is not None:
            return key
        with self._lock:
            nonce, wrapped = self._wrapper.wrap(subject_ref, new_key())
            self._db.execute("INSERT OR IGNORE INTO subject_keys VALUES (?, ?, ?)", (subject_ref, nonce, wrapped))
        return self._load(subject_ref)  # another writer may have won the race: read back what is stored

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
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

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

    def key_for(self, subject_ref: str) -> bytes:
        key = self.get(subject_ref)
        if key is not None:
            return key
        nonce, wrapped = self._wrapper.wrap(subject_ref, new_key())
        self._link.run(
            lambda conn: conn.execute(
                "INSERT INTO dsr_vault.subject_keys VALUES (%s, %s, %s) ON CONFLICT (subject_ref) DO NOTHING",
                (subject_ref, nonce, wrapped),
            )
        )
        return self._load(subject_ref)  # another worker may have won the race: read back what is stored

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
        self._link.run(
            lambda conn: conn.execute("DELETE FROM dsr_vault.subject_keys WHERE subject_ref = %s", (subject_ref,))
        )

    def close(self) -> None:
        self._link.close()
