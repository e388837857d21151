"""The record of answered tasks, by task id: what makes a redelivered task harmless (DESIGN principle 2)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from schemas.clock import utcnow
from schemas.tasks import TaskResult

KEEP_DAYS = 30  # redeliveries come within hours; a month covers a worker down over a long weekend


class AnswerRecord(Protocol):
    """Task ids answered, with the result sent: a redelivered task is answered again from here, without running
    the handler twice. The first answer recorded wins; a worker sees every answer another worker recorded on the
    same store as soon as `put` returned. Results hold counts and sealed values, no plaintext."""

    def get(self, task_id: str) -> TaskResult | None: ...

    def put(self, result: TaskResult) -> None: ...

    def close(self) -> None: ...


class MemoryAnswerRecord:
    """AnswerRecord twin: one process, one dict."""

    def __init__(self) -> None:
        self._answers: dict[str, TaskResult] = {}
        self._lock = threading.Lock()

    def get(self, task_id: str) -> TaskResult | None:
        return self._answers.get(task_id)

    def put(self, result: TaskResult) -> None:
        with self._lock:
            self._answers.setdefault(result.task_id, result)

    def close(self) -> None:
        pass


class SqliteAnswerRecord:
    """AnswerRecord in a SQLite file: one worker, or the processes of one machine (WAL)."""

    def __init__(self, path: Path, keep_days: int = KEEP_DAYS, clock: Callable[[], datetime] = utcnow) -> None:
        self.path = Path(path)
        self._clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection for the record's life, behind a lock: it is used from worker threads. WAL with
        # synchronous=NORMAL survives a crash of the process (what redeliveries follow) without an fsync
        # per answer; an OS crash may lose the last answers, and their tasks then simply run again.
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        self._lock = threading.Lock()
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS answers "
                "(task_id TEXT PRIMARY KEY, result TEXT NOT NULL, answered_at TEXT NOT NULL)"
            )
            cutoff = clock() - timedelta(days=keep_days)
            db.execute("DELETE FROM answers WHERE answered_at < ?", (cutoff.isoformat(),))

    def get(self, task_id: str) -> TaskResult | None:
        with self._db() as db:
            row = db.execute("SELECT result FROM answers WHERE task_id = ?", (task_id,)).fetchone()
        return TaskResult.model_validate_json(row[0]) if row else None

    def put(self, result: TaskResult) -> None:
        with self._db() as db:
            db.execute(
                "INSERT OR IGNORE INTO answers VALUES (?, ?, ?)",
                (result.task_id, result.model_dump_json(exclude_none=True), self._clock().isoformat()),
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn  # autocommit: each statement is its own transaction
