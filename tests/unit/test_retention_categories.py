"""Erasure by category (R44): each category goes at its own end, in the systems that erase by category; the others
are still asked for whole people; holds win (R46). The planner, the sweep's tasks, the scan and the task runtime."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from dsr.register import load_register
from dsr.retention import RetentionStore, Sweep, plan_json, plan_of, run_sweep, scan
from gdpr.ropa import retention_dates
from gdpr.sweep import Due, Hold, make_plan
from handlers.memory import MemoryAdapter
from handlers.protocol import DueRecord, RetentionScan, Subject
from handlers.runtime import run_task
from schemas.sealed import Sealed
from schemas.tasks import KeepGround, LegalHold, Task, TaskAction, TaskStatus
from tests.unit.test_retention_plan import MemorySink

pytestmark = pytest.mark.unit

AS_OF = date(2030, 1, 10)
NOW = datetime(2030, 1, 10, 3, 0, tzinfo=UTC)
REGISTER = load_register(None)
SECRET = b"k" * 32
CAMILLE = Subject(email="camille.durand@example.test", name="Camille Durand")
CONTACT, PAID = "2022-03-14T10:00:00+00:00", "2022-03-20"


def due(system: str, ref: str, category: str, end: date = date(2030, 1, 2)) -> Due:
    return Due(system, ref, category, f"rule_of_{category}", "delete", end)


def hold(categories: list[str]) -> LegalHold:
    return LegalHold(
        hold_id="litige-1", categories=categories, ground=KeepGround.LEGAL_CLAIMS, owner="legal", review_on=AS_OF
    )


def customer(adapter: MemoryAdapter) -> MemoryAdapter:
    """A customer: the file runs 4 years from the last payment, the marketing consents 3 (§5 rows 5-6)."""
    adapter.seed(CAMILLE.email, "person", {"email": CAMILLE.email, "created_at": CONTACT, "last_contact_at": CONTACT})
    adapter.seed(CAMILLE.email, "invoices", {"number": "F-1", "issued_at": PAID, "paid_at": PAID})
    adapter.seed(CAMILLE.email, "consents", {"channel": "email", "granted": True, "recorded_at": CONTACT})
    return adapter


def ends(adapter: MemoryAdapter) -> dict[str, date]:
    """The end dates the access answer gives (gdpr.ropa.retention_dates)."""
    entries = retention_dates(REGISTER, adapter.name, adapter.export(CAMILLE).records)
    return {e["category"]: date.fromisoformat(e["until"]) for e in entries}


def seal(ref: str, value: dict, system: str = "", lease: object = None) -> Sealed:
    return Sealed(subject_ref=ref, nonce="n", ciphertext=json.dumps(value), audience=system or None)


# --- The planner (gdpr.sweep) -------------------------------------------------------------------


def test_a_system_that_erases_by_category_gets_one_item_per_person_with_exactly_the_due_categories():
    found = [due("crm", "a", "consents"), due("crm", "b", "person"), due("crm", "b", "quote_requests")]
    plan = make_plan(AS_OF, found + [due("newsletter", "a", "subscription")], by_category=["crm"])
    assert [(i.system, i.subject_ref, i.categories, i.by_category) for i in plan.items] == [
        ("crm", "a", ("consents",), True),
        ("crm", "b", ("person", "quote_requests"), True),
        ("newsletter", "a", ("subscription",), False),  # scanned for whole people only: asked for them whole
    ]


def test_the_plan_id_says_whether_a_system_is_asked_by_category():
    found = [due("crm", "a", "consents")]
    assert make_plan(AS_OF, found).plan_id != make_plan(AS_OF, found, by_category=["crm"]).plan_id


def test_a_held_category_travels_as_a_hold_and_a_person_held_in_every_due_category_is_not_asked_for():
    found = [due("crm", "a", "consents"), due("crm", "a", "call_notes"), due("crm", "b", "consents")]
    holds = [Hold("a", hold(["call_notes"])), Hold("b", hold(["consents"]))]
    plan = make_plan(AS_OF, found, holds, by_category=["crm"])
    assert [(i.subject_ref, i.categories, i.held()) for i in plan.items] == [
        ("a", ("call_notes", "consents"), frozenset({"call_notes"}))
    ]
    assert plan.size == 1


# --- The sweep's tasks and plans (dsr.retention) ------------------------------------------------


def sweep_of(plan) -> Sweep:
    emails = {item.subject_ref: f"{item.subject_ref}@example.test" for item in plan.items}
    return Sweep(plan, emails, REGISTER, seal=seal, clock=lambda: NOW, batch_size=10)


def test_the_erase_task_names_the_categories_only_where_the_system_erases_by_category(tmp_path):
    found = [due("crm", "a", "consents"), due("crm", "a", "x"), due("newsletter", "a", "subscription")]
    plan = make_plan(AS_OF, found, [Hold("a", hold(["consents"]), "crm")], by_category=["crm"])
    sink = MemorySink()
    run_sweep(sweep_of(plan), sink, RetentionStore(tmp_path))
    tasks = {t.system: t for t in sink.tasks}
    assert tasks["crm"].categories == ["consents", "x"]
    assert [h.categories for h in tasks["crm"].holds] == [["consents"]]  # R46: the held one stays
    assert tasks["newsletter"].categories == []  # the whole person: every dated category of theirs was due


def test_a_plan_keeps_its_by_category_items_through_its_file_and_an_older_file_means_whole_people(tmp_path):
    plan = make_plan(AS_OF, [due("crm", "a", "consents")], by_category=["crm"])
    store = RetentionStore(tmp_path)
    store.save_plan(plan)
    assert store.load_plan(plan.plan_id) == plan
    older = plan_json(plan)
    for item in older["items"]:
        del item["by_category"]
    (tmp_path / "plans" / "older.json").write_text(json.dumps(older))
    assert [i.by_category for i in store.load_plan("older").items] == [False]


# --- The scan (dsr.retention.scan) --------------------------------------------------------------


def test_the_scan_of_a_system_that_erases_by_category_reports_the_marketing_consents_at_their_end():
    twin = customer(MemoryAdapter("crm"))
    first = min(ends(twin).values())
    assert first < max(ends(twin).values())
    assert scan([twin], REGISTER, SECRET, first).due == []  # kept through the end date
    found = scan([twin], REGISTER, SECRET, first + timedelta(days=1))
    assert [d.category for d in found.due] == ["consents"] and found.by_category == {"crm"}
    plan = plan_of(found, first + timedelta(days=1))
    assert [(i.categories, i.by_category) for i in plan.items] == [(("consents",), True)]


def test_a_system_that_cannot_erase_by_category_is_asked_for_whole_people_and_counts_the_others_waiting():
    twin = customer(MemoryAdapter("crm", erase_categories=False))
    first = min(ends(twin).values())
    found = scan([twin], REGISTER, SECRET, first + timedelta(days=1))
    assert found.due == [] and found.waiting == {"crm": 1} and found.by_category == set()
    last = scan([twin], REGISTER, SECRET, max(ends(twin).values()) + timedelta(days=1))
    assert {d.category for d in last.due} == {"person", "invoices", "consents"} and last.by_category == set()


def test_a_scan_by_category_from_a_system_that_cannot_erase_so_is_unanswered_never_erased_whole():
    class Confused(MemoryAdapter):
        def retention_scan(self, as_of, register):
            return RetentionScan(
                due=(DueRecord(CAMILLE.email, "consents", "marketing_3y", "delete", AS_OF),), by_category=True
            )

    found = scan([Confused("crm", erase_categories=False)], REGISTER, SECRET, AS_OF)
    assert found.due == [] and "does not erase by category" in found.unanswered["crm"]


# --- The task runtime ---------------------------------------------------------------------------


def erase_task(categories: list[str], holds: list[LegalHold] = ()) -> Task:
    return Task(
        task_id="retention-erase",
        subject_request_id="retention-plan",
        system="crm",
        action=TaskAction.ERASE,
        subject_ref="ref",
        subject=seal("ref", {"email": CAMILLE.email, "name": ""}),
        holds=list(holds),
        categories=categories,
        issued_at=NOW,
    )


async def run(adapter, task: Task):
    return await run_task(adapter, task, open_sealed=lambda s: json.loads(s.ciphertext), seal=seal, backoff=0.0)


async def test_an_erase_naming_categories_takes_only_those():
    twin = customer(MemoryAdapter("crm"))
    result = await run(twin, erase_task(["consents"]))
    assert (result.status, result.erased_items) == (TaskStatus.DONE, 1)
    assert set(twin.export(CAMILLE).records) == {"person", "invoices"}


async def test_a_held_category_named_by_the_erase_stays():
    twin = customer(MemoryAdapter("crm"))
    result = await run(twin, erase_task(["consents"], [hold(["consents"])]))
    assert result.erased_items == 0 and [k.item for k in result.kept] == ["consents"]
    assert set(twin.export(CAMILLE).records) == {"person", "invoices", "consents"}


async def test_a_system_that_cannot_erase_by_category_refuses_an_erase_naming_some_rather_than_erase_all():
    twin = customer(MemoryAdapter("crm", erase_categories=False))
    result = await run(twin, erase_task(["consents"]))
    assert result.status == TaskStatus.FAILED and "does not erase by category" in result.error
    assert set(twin.export(CAMILLE).records) == {"person", "invoices", "consents"}


def test_an_erase_task_without_categories_still_reads_as_the_whole_person():
    old = erase_task([]).model_dump(mode="json")
    del old["categories"]  # a message written before the field existed
    assert Task.model_validate(old).categories == []
