"""The record of answered tasks in PostgreSQL (schema dsr_answers), shared by every worker."""

from __future__ import annotations

from datetime import datetime, timedelta

from dsr.pg_link import PgLink
from handlers.answers import KEEP_DAYS
from schemas.clock import utcnow
from schemas.tasks import TaskResult

PG_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS dsr_answers;
CREATE TABLE IF NOT EXISTS dsr_answers.answers (
    task_id TEXT PRIMARY KEY, system TEXT NOT NULL, result TEXT NOT NULL, answered_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_answered_at ON dsr_answers.answers (answered_at);
"""


class PostgresAnswerRecord:
    """AnswerRecord for workers that share the work (DSR_VAULT_DSN): a task redelivered to another worker after
    a crash or a rebalance is answered from what the first worker recorded. One table for every system (task
    ids are uuid5 of request, system and action); each call is one statement on the server, nothing cached."""

    def __init__(self, dsn: str, setting: str = "DSR_VAULT_DSN", keep_days: int = KEEP_DAYS, clock=utcnow) -> None:
        self._link = PgLink(dsn, setting, PG_SCHEMA)
        self._clock = clock
        cutoff: datetime = clock() - timedelta(days=keep_days)
        self._link.run(lambda conn: conn.execute("DELETE FROM dsr_answers.answers WHERE answered_at < %s", (cutoff,)))

    def get(self, task_id: str) -> TaskResult | None:
        row = self._link.run(
            lambda conn: conn.execute(
                "SELECT result FROM dsr_answers.answers WHERE task_id = %s", (task_id,)
            ).fetchone()
        )
        return TaskResult.model_validate_json(row[0]) if row else None

    def put(self, result: TaskResult) -> None:
        row = (result.task_id, result.system, result.model_dump_json(exclude_none=True), self._clock())
        self._link.run(
            lambda conn: conn.execute(
                "INSERT INTO dsr_answers.answers VALUES (%s, %s, %s, %s) ON CONFLICT (task_id) DO NOTHING", row
            )
        )

    def close(self) -> None:
        self._link.close()
