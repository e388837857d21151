"""The back-office SDK without Kafka: a fake task API, a fake consumer and producer, a real SQLite record."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from handlers import sdk
from handlers.sdk import (
    Acknowledged,
    BackOffice,
    Erased,
    Exported,
    KeepGround,
    KeptItem,
    Lookup,
    Rectified,
    Refuse,
    Retry,
    TokenRejected,
)
from handlers.sdk_ports import PipelineUnavailable, SubjectErased, _refusal
from schemas.sealed import Sealed
from schemas.tasks import Task, TaskAction, TaskResult, TaskStatus
from streams import topics

pytestmark = pytest.mark.unit

CAMILLE = {"email": "camille.durand@example.test", "name": "Camille Durand"}


def sealed(value: dict, ref: str = "ref-camille") -> Sealed:
    """Stands in for the vault: readable JSON, so the tests can look inside."""
    return Sealed(subject_ref=ref, nonce="n", ciphertext=json.dumps(value))


def task(action: str = "lookup", system: str = "billing", task_id: str | None = None, **fields) -> bytes:
    return Task(
        task_id=task_id or f"task-{action}",
        subject_request_id="case-1",
        system=system,
        action=TaskAction(action),
        subject_ref="ref-camille",
        subject=sealed(CAMILLE),
        issued_at=datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
        **fields,
    ).to_bytes()


class FakeApi:
    """What `POST /api/tasks/open` and `/api/tasks/seal` answer, for the tests' sealing convention."""

    def __init__(self, erased: bool = False, token_ok: bool = True) -> None:
        self.erased, self.token_ok = erased, token_ok
        self.opened = 0

    def open(self, task: Task) -> dict:
        self._check()
        self.opened += 1
        payload = json.loads(task.payload.ciphertext) if task.payload else None
        return {"task_id": task.task_id, "subject": json.loads(task.subject.ciphertext), "payload": payload}

    def seal(self, task: Task, answer: dict) -> Sealed:
        self._check()
        if "export" in answer:
            return sealed({"system": task.system, "records": answer["export"]["records"]}, task.subject_ref)
        return sealed(answer["changes"], task.subject_ref)

    def _check(self) -> None:
        if not self.token_ok:
            raise TokenRejected("403")
        if self.erased:
            raise SubjectErased("410")


class FakeKafka:
    """A consumer and a producer at once: what was sent, what was committed."""

    def __init__(self) -> None:
        self.sent: list[SimpleNamespace] = []
        self.commits: list[dict] = []

    def send(self, topic, key=None, value=None, headers=None):
        self.sent.append(SimpleNamespace(topic=topic, key=key, value=value, headers=dict(headers or [])))
        return SimpleNamespace(get=lambda timeout=None: None)

    def commit(self, offsets):
        self.commits.append({tp.partition: meta.offset for tp, meta in offsets.items()})

    def on(self, topic: str) -> list[SimpleNamespace]:
        return [m for m in self.sent if m.topic == topic]

    def results(self) -> list[TaskResult]:
        return [TaskResult.model_validate_json(m.value) for m in self.on("dsr.task-results")]


def message(value: bytes, offset: int = 7) -> SimpleNamespace:
    return SimpleNamespace(topic="dsr.tasks.billing", partition=0, offset=offset, key=b"case-1", value=value)


@pytest.fixture
def office(tmp_path) -> BackOffice:
    return BackOffice("billing", api=FakeApi(), state_dir=tmp_path, backoff=0.0)


def serve(office: BackOffice, *values: bytes) -> FakeKafka:
    kafka = FakeKafka()
    for offset, value in enumerate(values):
        office.serve(message(value, offset), kafka, kafka)
    return kafka


def test_a_lookup_is_answered_published_by_request_id_then_committed(office):
    @office.handles("lookup")
    def lookup(t):
        return Lookup(holds_data=t.email == CAMILLE["email"], channels=["email"])

    kafka = serve(office, task("lookup"))
    [result] = kafka.results()
    assert result.status == TaskStatus.DONE and result.holds_data and result.channels == ["email"]
    assert kafka.on("dsr.task-results")[0].key == b"case-1"
    assert kafka.commits == [{0: 1}]  # the next offset, after the result was acknowledged


def test_an_export_travels_sealed_with_its_count(office):
    records = {"invoices": [{"invoice": "F-1", "_origin": "observed"}, {"invoice": "F-2", "_origin": "observed"}]}
    office.handles("export")(lambda t: Exported(records=records))
    [result] = serve(office, task("export")).results()
    assert result.exported_items == 2
    assert json.loads(result.export.ciphertext) == {"system": "billing", "records": records}
    assert "F-1" not in result.model_dump_json(exclude={"export"})


def test_an_erasure_reports_what_it_kept_and_why(office):
    kept = [KeptItem(item="invoices", count=1, ground=KeepGround.LEGAL_OBLIGATION, until="2036-12-31")]
    office.handles("erase")(lambda t: Erased(erased_items=2, kept=kept))
    [result] = serve(office, task("erase")).results()
    assert result.erased_items == 2 and result.kept == kept


def test_a_rectification_names_the_fields_and_seals_old_and_new(office):
    office.handles("rectify")(lambda t: Rectified({f: ("old", v) for f, v in t.changes.items()}))
    raw = task("rectify", payload=sealed({"changes": {"phone": "+33 6 98 76 54 32"}}))
    [result] = serve(office, raw).results()
    assert result.fields_changed == ["phone"]
    assert json.loads(result.changes.ciphertext) == {"phone": {"old": "old", "new": "+33 6 98 76 54 32"}}


def test_a_redelivered_task_is_answered_again_without_running_the_handler_twice(office, tmp_path):
    calls = []
    office.handles("erase")(lambda t: calls.append(t.task_id) or Erased(erased_items=3))
    first = serve(office, task("erase")).results()
    # The process restarts (a new BackOffice on the same record) and Kafka delivers the task again.
    again = BackOffice("billing", api=FakeApi(), state_dir=tmp_path)
    again.handles("erase")(lambda t: calls.append(t.task_id) or Erased(erased_items=0))
    second = serve(again, task("erase")).results()
    assert calls == ["task-erase"] and second == first


def test_an_action_without_handler_is_answered_failed_never_dropped(office):
    office.handles("lookup")(lambda t: Lookup(holds_data=False))
    kafka = serve(office, task("restrict", reason="accuracy_contested"))
    [result] = kafka.results()
    assert result.status == TaskStatus.FAILED
    assert result.error.startswith("unsupported action") and "restrict" in result.error and "lookup" in result.error
    assert kafka.commits == [{0: 1}] and not kafka.on("dsr.tasks.billing.dlq")


@pytest.mark.parametrize(
    "value, why",
    [
        (b"not json", "invalid task"),
        (json.dumps({"task_id": "t"}).encode(), "invalid task"),
        (None, "invalid task"),
        (task("lookup", system="crm"), "task for system 'crm'"),
    ],
)
def test_an_invalid_message_goes_to_the_dead_letter_topic_and_the_next_task_is_served(office, value, why):
    office.handles("lookup")(lambda t: Lookup(holds_data=True))
    kafka = serve(office, value, task("lookup"))
    [dead] = kafka.on("dsr.tasks.billing.dlq")
    assert dead.value == value and dead.headers["dsr-dlq-reason"].decode().startswith(why)
    assert dead.headers["dsr-dlq-origin-topic"] == b"dsr.tasks.billing"
    assert dead.headers["dsr-dlq-origin-offset"] == b"0"
    assert [r.status for r in kafka.results()] == [TaskStatus.DONE]
    assert kafka.commits == [{0: 1}, {0: 2}]


def test_a_transient_failure_is_retried_with_backoff(office):
    attempts = []

    @office.handles("lookup")
    def flaky(t):
        attempts.append(1)
        if len(attempts) < 3:
            raise Retry("database locked")
        return Lookup(holds_data=True)

    [result] = serve(office, task("lookup")).results()
    assert result.status == TaskStatus.DONE and len(attempts) == 3


def test_a_failing_handler_gives_a_failed_result_without_personal_data_and_a_dead_letter(office):
    @office.handles("erase")
    def broken(t):
        raise KeyError(t.email)  # the message holds the address: it must go nowhere

    kafka = serve(office, task("erase"))
    [result] = kafka.results()
    assert result.status == TaskStatus.FAILED and result.error == "KeyError after 3 attempt(s)"
    [dead] = kafka.on("dsr.tasks.billing.dlq")
    assert dead.headers["dsr-dlq-reason"] == b"handler failed: KeyError after 3 attempt(s)"
    assert all(
        b"camille" not in m.value and b"camille" not in b"".join(m.headers.values())
        for m in kafka.sent
        if m.topic != "dsr.tasks.billing.dlq"
    )
    assert kafka.commits == [{0: 1}]


def test_a_refusal_is_answered_at_once(office):
    calls = []

    @office.handles("erase")
    def refuse(t):
        calls.append(1)
        raise Refuse("account under litigation: the DPO decides")

    kafka = serve(office, task("erase"))
    assert kafka.results()[0].error == "Refuse: account under litigation: the DPO decides" and calls == [1]
    assert not kafka.on("dsr.tasks.billing.dlq")


def test_a_handler_returning_the_wrong_type_fails_clearly(office):
    office.handles("erase")(lambda t: Lookup(holds_data=True))
    [result] = serve(office, task("erase")).results()
    assert result.status == TaskStatus.FAILED and result.error.startswith("TypeError")


def test_a_subject_already_erased_is_answered_failed(tmp_path):
    office = BackOffice("billing", api=FakeApi(erased=True), state_dir=tmp_path, backoff=0.0)
    office.handles("lookup")(lambda t: pytest.fail("the handler cannot run without the subject"))
    [result] = serve(office, task("lookup")).results()
    assert result.status == TaskStatus.FAILED and result.error.startswith("SubjectErased")


def test_a_wrong_token_stops_the_consumer_and_commits_nothing(tmp_path):
    office = BackOffice("billing", api=FakeApi(token_ok=False), state_dir=tmp_path, backoff=0.0)
    office.handles("lookup")(lambda t: Lookup(holds_data=True))
    kafka = FakeKafka()
    with pytest.raises(TokenRejected):
        office.serve(message(task("lookup")), kafka, kafka)
    assert not kafka.commits and not kafka.sent


def test_stopping_during_a_backoff_leaves_the_task_uncommitted(tmp_path):
    office = BackOffice("billing", api=FakeApi(), state_dir=tmp_path, backoff=60.0)
    office._stop = stop = threading.Event()

    @office.handles("lookup")
    def busy(t):
        stop.set()  # Ctrl-C arrives while the system is busy
        raise Retry()

    kafka = FakeKafka()
    with pytest.raises(sdk.Stopped):
        office.serve(message(task("lookup")), kafka, kafka)
    assert not kafka.commits


def test_the_opened_task_carries_the_subject_and_the_action_fields(office):
    seen = []
    office.handles("suppress_marketing")(lambda t: seen.append(t) or sdk.Suppressed(channels=t.channels))
    office.handles("notify_recipient")(lambda t: Acknowledged())
    serve(office, task("suppress_marketing", channels=["sms"]))
    assert (seen[0].email, seen[0].name, seen[0].channels, seen[0].action) == (
        CAMILLE["email"],
        CAMILLE["name"],
        ["sms"],
        TaskAction.SUPPRESS_MARKETING,
    )


def test_registering_is_checked_at_once(office):
    with pytest.raises(ValueError, match="unknown action 'delete'"):
        office.handles("delete")
    office.handles("erase")(lambda t: Erased(0))
    with pytest.raises(ValueError, match="already has a handler"):
        office.handles("erase")(lambda t: Erased(0))


def test_dead_letter_headers_are_the_pipelines():
    assert (sdk.DLQ_REASON, sdk.DLQ_ORIGIN_TOPIC, sdk.DLQ_ORIGIN_PARTITION, sdk.DLQ_ORIGIN_OFFSET, sdk.DLQ_AT) == (
        topics.DLQ_REASON,
        topics.DLQ_ORIGIN_TOPIC,
        topics.DLQ_ORIGIN_PARTITION,
        topics.DLQ_ORIGIN_OFFSET,
        topics.DLQ_AT,
    )
    assert sdk.TASK_RESULTS == topics.TASK_RESULTS
    assert sdk.RETENTION_SCANS == topics.RETENTION_SCANS


@pytest.mark.parametrize(
    "status, error",
    [(410, SubjectErased), (403, TokenRejected), (401, TokenRejected), (503, PipelineUnavailable), (400, ValueError)],
)
def test_http_answers_map_to_what_the_sdk_does(status, error):
    assert isinstance(_refusal(status, "/api/tasks/open"), error)
