"""The task runtime: each action reaches its verb, and its result carries the fields the case reads."""

from __future__ import annotations

import functools
import json
from datetime import UTC, date, datetime

import pytest

from handlers.answers import SqliteAnswerRecord
from handlers.memory import MemoryAdapter, MemoryInbox
from handlers.protocol import MARKETING_CHANNELS, RESTRICTION_TAG, Subject
from handlers.runtime import remembered, run_task
from schemas.sealed import Sealed
from schemas.tasks import ChangeKind, KeepGround, LegalHold, RecipientNotice, Task, TaskAction, TaskStatus

pytestmark = pytest.mark.unit

CAMILLE = Subject(email="camille.durand@example.test", name="Camille Durand")
REF = "ref-camille"
QUOTE = {
    "first_name": "Camille",
    "last_name": "Durand",
    "phone": "+33 6 12 34 56 78",
    "postal_address": {"street": "12 rue des Lilas", "postal_code": "69003", "city": "Lyon", "country": "FR"},
}


def seal(ref: str, value: dict) -> Sealed:
    """Stands in for the vault: readable JSON, so the tests can look inside."""
    return Sealed(subject_ref=ref, nonce="n", ciphertext=json.dumps(value))


def open_sealed(sealed: Sealed) -> dict:
    return json.loads(sealed.ciphertext)


def task(action: TaskAction, system: str = "crm", payload: dict | None = None, **fields) -> Task:
    return Task(
        task_id=f"task-{action.value}",
        subject_request_id="case-1",
        system=system,
        action=action,
        subject_ref=REF,
        subject=seal(REF, {"email": CAMILLE.email, "name": CAMILLE.name}),
        payload=seal(REF, payload) if payload is not None else None,
        issued_at=datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
        **fields,
    )


async def run(adapter, t: Task):
    return await run_task(adapter, t, open_sealed=open_sealed, seal=seal, backoff=0.0)


@pytest.fixture
def crm() -> MemoryAdapter:
    twin = MemoryAdapter("crm")
    twin.seed(CAMILLE.email, "person", QUOTE)
    return twin


async def test_rectify_names_the_fields_and_seals_old_and_new(crm):
    # GS-10: Camille corrects her phone and street.
    changes = {"phone": "+33 6 98 76 54 32", "postal_address": {"street": "3 place Bellecour"}}
    result = await run(crm, task(TaskAction.RECTIFY, payload={"changes": changes}))
    assert result.status == TaskStatus.DONE
    assert result.fields_changed == ["phone", "postal_address"]
    opened = open_sealed(result.changes)
    assert opened["phone"] == {"old": "+33 6 12 34 56 78", "new": "+33 6 98 76 54 32"}
    assert opened["postal_address"]["new"]["street"] == "3 place Bellecour"
    assert "+33 6 12" not in result.model_dump_json(exclude={"changes"})  # old values travel sealed only


async def test_a_rectify_that_changes_nothing_carries_no_changes(crm):
    t = task(TaskAction.RECTIFY, payload={"changes": {"first_name": "Camille"}})
    result = await run(crm, t)
    assert (result.status, result.fields_changed, result.changes) == (TaskStatus.DONE, [], None)


async def test_restrict_and_lift_report_the_records_marked(crm):
    restricted = await run(crm, task(TaskAction.RESTRICT, reason="accuracy_contested"))
    assert (restricted.status, restricted.restricted_items) == (TaskStatus.DONE, 1)
    assert crm.export(CAMILLE).records["person"][0][RESTRICTION_TAG] == "accuracy_contested"
    lifted = await run(crm, task(TaskAction.LIFT_RESTRICTION))
    assert (lifted.status, lifted.restricted_items) == (TaskStatus.DONE, 1)


async def test_restrict_without_a_reason_fails_and_says_why(crm):
    result = await run(crm, task(TaskAction.RESTRICT))
    assert result.status == TaskStatus.FAILED
    assert "reason" in result.error


async def test_erase_passes_the_holds_and_reports_what_they_keep(crm):
    crm.seed(CAMILLE.email, "call_notes", {"note": "Conteste la facture.", "_origin": "observed"})
    hold = LegalHold(
        hold_id="dispute-1",
        categories=["call_notes"],
        ground=KeepGround.LEGAL_CLAIMS,
        owner="legal",
        review_on=date(2027, 6, 30),
    )
    result = await run(crm, task(TaskAction.ERASE, holds=[hold]))
    assert result.erased_items == 1
    assert [(k.item, k.count, k.ground, k.until) for k in result.kept] == [
        ("call_notes", 1, KeepGround.LEGAL_CLAIMS, "2027-06-30")
    ]


@pytest.mark.parametrize("channels", [[], ["all"]])
async def test_suppress_marketing_for_all_channels(crm, channels):
    # GS-08: "stop all marketing" reaches every channel.
    result = await run(crm, task(TaskAction.SUPPRESS_MARKETING, channels=channels))
    assert result.suppressed_channels == list(MARKETING_CHANNELS)
    sources = {c["source"] for c in crm.export(CAMILLE).records["consents"]}
    assert sources == {"objection"}


async def test_suppress_marketing_keeps_the_source_and_reports_only_channels_used():
    newsletter = MemoryAdapter("newsletter", marketing_channels=("email",))
    newsletter.seed(CAMILLE.email, "subscription", {"language": "fr"})
    t = task(TaskAction.SUPPRESS_MARKETING, system="newsletter", channels=["email", "sms"], reason="withdrawal")
    result = await run(newsletter, t)
    assert result.suppressed_channels == ["email"]
    assert newsletter.export(CAMILLE).records["consents"][0]["source"] == "withdrawal"


async def test_an_unknown_channel_fails_without_personal_data(crm):
    result = await run(crm, task(TaskAction.SUPPRESS_MARKETING, channels=["fax"]))
    assert result.status == TaskStatus.FAILED
    assert "fax" in result.error and "camille" not in result.error.lower()


async def test_notify_recipient_files_the_notice_once():
    inbox = MemoryInbox("franchise-lyon")
    notice = RecipientNotice(
        change=ChangeKind.RECTIFICATION, recipient="franchise-lyon", systems=["crm"], fields=["postal_address"]
    )
    t = task(TaskAction.NOTIFY_RECIPIENT, system="franchise-lyon", notice=notice)
    assert (await run(inbox, t)).status == TaskStatus.DONE
    assert (await run(inbox, t)).status == TaskStatus.DONE
    assert [(n["task_id"], n["fields"]) for n in inbox.notices()] == [("task-notify_recipient", ["postal_address"])]


async def test_an_action_the_adapter_does_not_declare_fails_with_the_fix():
    analytics = MemoryAdapter("analytics", actions=(TaskAction.LOOKUP, TaskAction.ERASE))
    result = await run(analytics, task(TaskAction.RECTIFY, system="analytics", payload={"changes": {"phone": "1"}}))
    assert result.status == TaskStatus.FAILED
    assert "analytics" in result.error and "rectify" in result.error and "lookup" in result.error
    assert "camille" not in result.error.lower()


async def test_a_data_system_is_not_a_recipient(crm):
    notice = RecipientNotice(change=ChangeKind.ERASURE, recipient="crm", systems=["crm"])
    result = await run(crm, task(TaskAction.NOTIFY_RECIPIENT, notice=notice))
    assert result.status == TaskStatus.FAILED and "notify_recipient" in result.error


async def test_an_unexpected_error_says_nothing_about_the_person():
    class Broken(MemoryAdapter):
        def lookup(self, subject):
            raise RuntimeError(f"no row for {subject.email}")

    result = await run(Broken("crm"), task(TaskAction.LOOKUP))
    assert result.status == TaskStatus.FAILED
    assert result.error == "RuntimeError: the system could not act"


async def test_a_redelivered_task_gets_the_first_answer_without_a_second_run(tmp_path):
    # A crash after the erase but before the result was published: the task comes back. Running it again
    # would report 0 items erased, and the outcome would say "no data" where data were erased.
    adapter = MemoryAdapter("crm")
    adapter.seed("camille.durand@example.test", "person", {"first_name": "Camille"})
    runner = remembered(
        functools.partial(run_task, adapter, open_sealed=open_sealed, seal=seal, backoff=0.0),
        SqliteAnswerRecord(tmp_path / "crm.sqlite3"),
    )
    erase = task(TaskAction.ERASE)
    first = await runner(erase)
    again = await runner(erase)
    assert first.erased_items == 1 and again == first


@pytest.mark.parametrize("action", [TaskAction.LOOKUP, TaskAction.NOTIFY_RECIPIENT, TaskAction.ERASE])
async def test_every_action_is_answered_from_the_record_once_answered(tmp_path, action):
    calls = []

    async def runner(t: Task):
        calls.append(t.task_id)
        return await run(MemoryAdapter("crm") if action != TaskAction.NOTIFY_RECIPIENT else MemoryInbox("crm"), t)

    notice = RecipientNotice(change=ChangeKind.ERASURE, recipient="crm", systems=["crm"])
    fields = {"notice": notice} if action == TaskAction.NOTIFY_RECIPIENT else {}
    remembering = remembered(runner, SqliteAnswerRecord(tmp_path / "crm.sqlite3"))
    first = await remembering(task(action, **fields))
    again = await remembering(task(action, **fields))
    assert first.status == TaskStatus.DONE and again == first and len(calls) == 1


async def test_an_export_is_not_kept_in_the_record_it_runs_again(tmp_path, crm):
    record = SqliteAnswerRecord(tmp_path / "crm.sqlite3")
    runner = remembered(functools.partial(run_task, crm, open_sealed=open_sealed, seal=seal, backoff=0.0), record)
    assert (await runner(task(TaskAction.EXPORT))).export is not None
    assert record.get("task-export") is None  # no copy of her data outlives the download link here
