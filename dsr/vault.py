"""The key vault on SQLite: subject keys wrapped under the master key, destroyed for real on erasure."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gdpr.sealing import new_key

SCHEMA = "CREATE TABLE IF NOT EXISTS subject_keys (subject_ref TEXT PRIMARY KEY, nonce BLOB, wrapped BLOB)"


class SqliteKeyVault:
    """KeyVault port. `secure_delete` overwrites freed pages and the WAL is checkpointed after each
    destruction, so a destroyed key leaves no copy in the file (crypto-shredding needs that)."""

    def __init__(self, path: Path | str, master_secret: bytes) -> None:
        self._master = AESGCM(hashlib.sha256(b"dsr-vault:" + master_secret).digest())
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
            nonce, key = os.urandom(12), new_key()
            wrapped = self._master.encrypt(nonce, key, subject_ref.encode())
            self._db.execute("INSERT OR IGNORE INTO subject_keys VALUES (?, ?, ?)", (subject_ref, nonce, wrapped))
        return self._load(subject_ref)  # another writer may have won the race: read back what is stored

    def get(self, subject_ref: str) -> bytes | None:
        return self._load(subject_ref)  # no cache: another process may have destroyed the key

    def _load(self, subject_ref: str) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT nonce, wrapped FROM subject_keys WHERE subject_ref = ?", (subject_ref,)
            ).fetchone()
        if row is None:
            return None
        return self._master.decrypt(row[0], row[1], subject_ref.encode())

    def destroy(self, subject_ref: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM subject_keys WHERE subject_ref = ?", (subject_ref,))
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._db.close()
