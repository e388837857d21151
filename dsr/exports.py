"""The ExportStore port on files under DSR_DATA_DIR; everything in it is sealed under the subject's key."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from schemas.sealed import Sealed

_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


class FileExportStore:
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
