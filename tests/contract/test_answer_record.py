"""The record of answered tasks: the memory twin, SQLite and PostgreSQL pass the same suite; a second instance on
the same store stands for a second worker (or the same worker restarted), which must answer from it."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta

import pytest

from dsr.answers_store import PostgresAnswerRecord
from handlers.answers import MemoryAnswerRecord, SqliteAnswerRecord
from handlers.memory import MemoryInbox
from handlers.runtime import remembered, run_task
from schemas.sealed import Sealed
from schemas.tasks import ChangeKind, RecipientNotice, Task, TaskAction, TaskResult, TaskStatus

NOW = datetime(2027, 3, 5, 10, 0, tzinfo=UTC)
SEALED = Sealed(subject_ref="ref", nonce="n", ciphertext=json.dumps({"email": "camille.durand@example.test"}))


def result(task_id: str = "t1", **fields) -> TaskResult:
    base = {"subject_request_id": "r1", "system": "crm", "action": TaskAction.ERASE, "status": TaskStatus.DONE}
    return TaskResult(task_id=task_id, completed_at=NOW, **(base | fields))


def notice_task() -> Task:
    notice = RecipientNotice(change=ChangeKind.ERASURE, recipient="telephony", systems=["crm"], fields=[])
    return Task(
        task_id="notice-1",
        subject_request_id="r1",
        system="telephony",
        action=TaskAction.NOTIFY_RECIPIENT,
        subject_ref="ref",
        subject=SEALED,
        issued_at=NOW,
        notice=notice,
    )


class AnswerRecordContract:
    def make(self, tmp_path):
        raise NotImplementedError

    def another_worker(self, tmp_path, record):
        raise NotImplementedError

    def test_an_unknown_task_has_no_answer(self, tmp_path):
        assert self.make(tmp_path).get("never-seen") is None

    def test_an_answer_recorded_by_one_worker_is_read_by_another(self, tmp_path):
        record = self.make(tmp_path)
        answer = result(erased_items=7, kept=[])
        record.put(answer)
        assert self.another_worker(tmp_path, record).get("t1") == answer

    def test_the_first_answer_wins(self, tmp_path):
        record = self.make(tmp_path)
        record.put(result(erased_items=7))
        self.another_worker(tmp_path, record).put(result(erased_items=0))  # a second run finds nothing left
        assert record.get("t1").erased_items == 7

    async def test_a_redelivered_notice_is_answered_from_the_record_not_run_again(self, tmp_path):
        # The worker answered the Art. 19 notice, then crashed before committing; the key has been destroyed
        # since. Run again, the notice would fail (SubjectForgotten) and alert the DPO for nothing.
        inbox = MemoryInbox("telephony")
        opener = {"open": lambda sealed: json.loads(sealed.ciphertext)}

        def runner(record):
            run = functools.partial(run_task, inbox, open_sealed=lambda s: opener["open"](s), seal=None, backoff=0.0)
            return remembered(run, record)

        record = self.make(tmp_path)
        first = await runner(record)(notice_task())
        assert first.status == TaskStatus.DONE

        def forgotten(sealed):
            raise LookupError("the key is destroyed")

        opener["open"] = forgotten
        again = await runner(self.another_worker(tmp_path, record))(notice_task())
        assert again == first and len(inbox.notices()) == 1


class TestMemoryAnswerRecord(AnswerRecordContract):
    def make(self, tmp_path):
        return MemoryAnswerRecord()

    def another_worker(self, tmp_path, record):
        return record  # one process: the same object


class TestSqliteAnswerRecord(AnswerRecordContract):
    def make(self, tmp_path):
        return SqliteAnswerRecord(tmp_path / "answers.sqlite3")

    def another_worker(self, tmp_path, record):
        return SqliteAnswerRecord(tmp_path / "answers.sqlite3")  # the worker restarted, or another process

    def test_answers_older_than_a_month_are_forgotten_at_start(self, tmp_path):
        SqliteAnswerRecord(tmp_path / "a.sqlite3", clock=lambda: NOW).put(result())
        later = SqliteAnswerRecord(tmp_path / "a.sqlite3", clock=lambda: NOW + timedelta(days=31))
        assert later.get("t1") is None


class TestPostgresAnswerRecord(AnswerRecordContract):
    @pytest.fixture(autouse=True)
    def _database(self, postgres_dsn):
        self.dsn = postgres_dsn

    def make(self, tmp_path):
        return PostgresAnswerRecord(self.dsn)

    def another_worker(self, tmp_path, record):
        return PostgresAnswerRecord(self.dsn)

    def test_answers_older_than_a_month_are_forgotten_at_start(self, tmp_path):
        PostgresAnswerRecord(self.dsn, clock=lambda: NOW).put(result())
        assert PostgresAnswerRecord(self.dsn, clock=lambda: NOW + timedelta(days=29)).get("t1") is not None
        assert PostgresAnswerRecord(self.dsn, clock=lambda: NOW + timedelta(days=31)).get("t1") is None
