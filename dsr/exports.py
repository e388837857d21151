"""The ExportStore port on files (a directory every worker mounts) or on PostgreSQL; all of it sealed."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from dsr.pg_link import PgLink
from schemas.clock import Clock, utcnow
from schemas.sealed import Sealed

_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


class FileExportStore:
    """Under a directory: $DSR_DATA_DIR/exports, or DSR_EXPORTS_DIR that every worker mounts."""

    def __init__(self, root: Path) -> None:
        self._root = root
        root.mkdir(parents=True, exist_ok=True)

    def _dir(self, request_id: str) -> Path:
        if not _SAFE.match(request_id):
            raise ValueError("request id has characters not allowed in a file name")
        return self._root / request_id

    def put_part(self, request_id: str, system: str, part: Sealed) -> None:
        if not _SAFE.match(system):
            raise ValueError("system name has characters not allowed in a file name")
        self._write(self._dir(request_id) / f"part-{system}.json", part)

    def parts(self, request_id: str) -> dict[str, Sealed]:
        folder = self._dir(request_id)
        files = sorted(folder.glob("part-*.json")) if folder.exists() else []
        return {f.stem.removeprefix("part-"): Sealed.model_validate_json(f.read_bytes()) for f in files}

    def put_package(self, request_id: str, package: Sealed) -> None:
        self._write(self._dir(request_id) / "package.json", package)

    def package(self, request_id: str) -> Sealed | None:
        path = self._dir(request_id) / "package.json"
        return Sealed.model_validate_json(path.read_bytes()) if path.exists() else None

    def delete(self, request_id: str) -> None:
        shutil.rmtree(self._dir(request_id), ignore_errors=True)

    def delete_older_than(self, cutoff: datetime) -> list[str]:
        """By the folder's creation time: the first export of the request."""
        expired = [
            d.name
            for d in self._root.iterdir()
            if d.is_dir() and datetime.fromtimestamp(d.stat().st_ctime, UTC) < cutoff
        ]
        for request_id in expired:
            self.delete(request_id)
        return expired

    @staticmethod
    def _write(path: Path, value: Sealed) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(value.to_bytes())
        tmp.replace(path)


PG_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS dsr_exports;
CREATE TABLE IF NOT EXISTS dsr_exports.items (
    request_id TEXT NOT NULL, item TEXT NOT NULL, sealed TEXT NOT NULL, stored_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (request_id, item)
);
"""
PACKAGE = "package"
PART = "part:"


class PostgresExportStore:
    """ExportStore port in PostgreSQL (DSR_EXPORTS_DSN), so that any worker serves any download.
    Rows hold sealed values only; `stored_at` comes from the workers' clock, like the expiry cutoff."""

    def __init__(self, dsn: str, setting: str = "DSR_EXPORTS_DSN", clock: Clock = utcnow) -> None:
        self._link = PgLink(dsn, setting, PG_SCHEMA)
        self._clock = clock

    def put_part(self, request_id: str, system: str, part: Sealed) -> None:
        self._put(request_id, PART + system, part)

    def parts(self, request_id: str) -> dict[str, Sealed]:
        rows = self._link.run(
            lambda conn: conn.execute(
                "SELECT item, sealed FROM dsr_exports.items "
                "WHERE request_id = %s AND item LIKE 'part:%%' ORDER BY item",
                (request_id,),
            ).fetchall()
        )
        return {item.removeprefix(PART): Sealed.model_validate_json(sealed) for item, sealed in rows}

    def put_package(self, request_id: str, package: Sealed) -> None:
        self._put(request_id, PACKAGE, package)

    def package(self, request_id: str) -> Sealed | None:
        row = self._link.run(
            lambda conn: conn.execute(
                "SELECT sealed FROM dsr_exports.items WHERE request_id = %s AND item = %s", (request_id, PACKAGE)
            ).fetchone()
        )
        return Sealed.model_validate_json(row[0]) if row else None

    def delete(self, request_id: str) -> None:
        self._link.run(lambda conn: conn.execute("DELETE FROM dsr_exports.items WHERE request_id = %s", (request_id,)))

    def delete_older_than(self, cutoff: datetime) -> list[str]:
        """By the first export stored for the request, as the file store does."""
        rows = self._link.run(
            lambda conn: conn.execute(
                "DELETE FROM dsr_exports.items WHERE request_id IN (SELECT request_id FROM dsr_exports.items "
                "GROUP BY request_id HAVING min(stored_at) < %s) RETURNING request_id",
                (cutoff,),
            ).fetchall()
        )
        return sorted({row[0] for row in rows})

    def _put(self, request_id: str, item: str, value: Sealed) -> None:
        self._link.run(
            lambda conn: conn.execute(
                "INSERT INTO dsr_exports.items VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (request_id, item) DO UPDATE SET sealed = EXCLUDED.sealed",
                (request_id, item, value.to_bytes().decode(), self._clock()),
            )
        )

    def close(self) -> None:
        self._link.close()
