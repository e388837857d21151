"""The record of answered tasks, by task id: what makes a redelivered task harmless (DESIGN principle 2)."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from schemas.tasks import TaskResult


class AnswerRecord:
    """Task ids this system answered, with the result sent (SQLite): a redelivered task is answered again
    from here, without running the handler twice. Results hold counts and sealed values, no plaintext."""

    def __init__(self, path: Path, keep_days: int = 30) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS answers "
                       "(task_id TEXT PRIMARY KEY, result TEXT NOT NULL, answered_at TEXT NOT NULL)")
            cutoff = datetime.now(timezone.utc) - timedelta(days=keep_days)  # redeliveries come within hours
            db.execute("DELETE FROM answers WHERE answered_at < ?", (cutoff.isoformat(),))

    def get(self, task_id: str) -> TaskResult | None:
        with self._db() as db:
            row = db.execute("SELECT result FROM answers WHERE task_id = ?", (task_id,)).fetchone()
        return TaskResult.model_validate_json(row[0]) if row else None

    def put(self, result: TaskResult) -> None:
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO answers VALUES (?, ?, ?)",
                       (result.task_id, result.model_dump_json(exclude_none=True),
                        datetime.now(timezone.utc).isoformat()))

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path)  # one per use: the record may be built in one thread, used in another
        try:
            with conn:  # commits, or rolls back on error
                yield conn
        finally:
            conn.close()
