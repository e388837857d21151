"""The DocumentStore port on files (a directory every worker mounts) or on PostgreSQL; all of it sealed."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from dsr.pg_link import PgLink
from schemas.clock import Clock, utcnow
from schemas.sealed import Sealed

_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")
TYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png"}


class FileDocumentStore:
    """One file per case, `<request id>.<pdf|jpg|png>.sealed`, its age the file's modification time."""

    def __init__(self, root: Path) -> None:
        self._root = root
        root.mkdir(parents=True, exist_ok=True)

    def _files(self, request_id: str) -> list[Path]:
        if not _SAFE.match(request_id):
            raise ValueError("request id has characters not allowed in a file name")
        return sorted(self._root.glob(f"{request_id}.*.sealed"))

    def put(self, request_id: str, content_type: str, document: Sealed) -> None:
        self.delete(request_id)
        suffix = next(s for s, t in TYPES.items() if t == content_type)
        path = self._root / f"{request_id}.{suffix}.sealed"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(document.to_bytes())
        tmp.replace(path)

    def get(self, request_id: str) -> tuple[str, Sealed] | None:
        files = self._files(request_id)
        if not files:
            return None
        return TYPES[files[0].suffixes[-2].lstrip(".")], Sealed.model_validate_json(files[0].read_bytes())

    def delete(self, request_id: str) -> None:
        for path in self._files(request_id):
            path.unlink(missing_ok=True)

    def delete_older_than(self, cutoff: datetime) -> list[str]:
        old = [p for p in self._root.glob("*.sealed") if datetime.fromtimestamp(p.stat().st_mtime, UTC) < cutoff]
        for path in old:
            path.unlink(missing_ok=True)
        return sorted({p.name.split(".")[0] for p in old})


PG_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS dsr_documents;
CREATE TABLE IF NOT EXISTS dsr_documents.documents (
    request_id TEXT PRIMARY KEY, content_type TEXT NOT NULL, sealed TEXT NOT NULL, stored_at TIMESTAMPTZ NOT NULL
);
"""


class PostgresDocumentStore:
    """DocumentStore in PostgreSQL (beside the access copies), so that any worker serves the DPO's check."""

    def __init__(self, dsn: str, setting: str = "DSR_EXPORTS_DSN", clock: Clock = utcnow) -> None:
        self._link = PgLink(dsn, setting, PG_SCHEMA)
        self._clock = clock

    def put(self, request_id: str, content_type: str, document: Sealed) -> None:
        self._link.run(
            lambda conn: conn.execute(
                "INSERT INTO dsr_documents.documents VALUES (%s, %s, %s, %s) ON CONFLICT (request_id) DO UPDATE "
                "SET content_type = EXCLUDED.content_type, sealed = EXCLUDED.sealed, stored_at = EXCLUDED.stored_at",
                (request_id, content_type, document.to_bytes().decode(), self._clock()),
            )
        )

    def get(self, request_id: str) -> tuple[str, Sealed] | None:
        row = self._link.run(
            lambda conn: conn.execute(
                "SELECT content_type, sealed FROM dsr_documents.documents WHERE request_id = %s", (request_id,)
            ).fetchone()
        )
        return (row[0], Sealed.model_validate_json(row[1])) if row else None

    def delete(self, request_id: str) -> None:
        self._link.run(
            lambda conn: conn.execute("DELETE FROM dsr_documents.documents WHERE request_id = %s", (request_id,))
        )

    def delete_older_than(self, cutoff: datetime) -> list[str]:
        rows = self._link.run(
            lambda conn: conn.execute(
                "DELETE FROM dsr_documents.documents WHERE stored_at < %s RETURNING request_id", (cutoff,)
            ).fetchall()
        )
        return sorted(row[0] for row in rows)

    def close(self) -> None:
        self._link.close()
