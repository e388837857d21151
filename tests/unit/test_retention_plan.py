"""The retention plan (gdpr.sweep) and its sweep (dsr.retention): grouping, holds, approval, batches, resuming."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from dsr.register import load_register
from dsr.retention import RetentionStore, Sweep, expire_keys, purge_unkeyed, report_context, run_sweep
from gdpr.sealing import Lease
from gdpr.sweep import (
    Due,
    Hold,
    Purge,
    SystemStatus,
    make_plan,
    needs_approval,
    sweep_request_id,
    task_id,
    unswept,
)
from handlers.protocol import SystemUnanswered
from schemas.sealed import Sealed
from schemas.tasks import KeepGround, LegalHold, TaskAction
from streams.ports import MemoryKeyVault

pytestmark = pytest.mark.unit

AS_OF = date(2030, 1, 10)
NOW = datetime(2030, 1, 10, 3, 0, tzinfo=UTC)
REGISTER = load_register(None)


def due(system: str, ref: str, category: str, end: date = date(2030, 1, 2), count: int = 1) -> Due:
    return Due(system, ref, category, f"rule_of_{category}", "delete", end, count)


def hold(categories: list[str], hold_id: str = "litige-1") -> LegalHold:
    return LegalHold(
        hold_id=hold_id,
        categories=categories,
        ground=KeepGround.LEGAL_CLAIMS,
        owner="legal",
        review_on=date(2031, 1, 1),
    )


def test_one_erasure_per_person_and_system_with_every_due_category():
    plan = make_plan(
        AS_OF,
        [due("crm", "a", "person"), due("crm", "a", "quote_requests", date(2030, 1, 5)), due("newsletter", "a", "x")],
    )
    assert [(i.system, i.subject_ref, i.categories, i.end_date) for i in plan.items] == [
        ("crm", "a", ("person", "quote_requests"), date(2030, 1, 5)),
        ("newsletter", "a", ("x",), date(2030, 1, 2)),
    ]
    assert plan.size == 2


def test_rows_count_people_records_and_end_dates_per_system_category_and_rule():
    plan = make_plan(AS_OF, [due("crm", "a", "person", date(2029, 5, 1), 2), due("crm", "b", "person")])
    (row,) = plan.rows
    assert (row.system, row.category, row.rule, row.count, row.records) == ("crm", "person", "rule_of_person", 2, 3)
    assert (row.end_date, row.last_end_date) == (date(2029, 5, 1), date(2030, 1, 2))
    assert row.to_json()["end_date"] == "2029-05-01"


def test_a_hold_travels_with_the_erasure_and_is_counted_in_the_rows():
    # R46: the held category stays (the task carries the hold); the rest of the person goes.
    holds = [Hold("a", hold(["call_notes"]))]
    plan = make_plan(AS_OF, [due("crm", "a", "person"), due("crm", "a", "call_notes")], holds)
    (item,) = plan.items
    assert item.holds == (hold(["call_notes"]),) and item.held() == {"call_notes"}
    assert {r.category: r.held for r in plan.rows} == {"call_notes": 1, "person": 0}


def test_a_person_held_in_full_is_not_asked_for_and_a_hold_elsewhere_does_not_apply():
    holds = [Hold("a", hold(["*"])), Hold("b", hold(["*"]), system="newsletter")]
    plan = make_plan(AS_OF, [due("crm", "a", "person"), due("crm", "b", "person")], holds)
    assert [(i.subject_ref, i.holds) for i in plan.items] == [("b", ())]
    assert plan.size == 1


def test_a_system_without_the_verb_is_listed_as_such():
    plan = make_plan(AS_OF, [], unsupported=["billing"])
    assert [(r.system, r.status) for r in plan.rows] == [("billing", SystemStatus.UNSUPPORTED)]


def test_a_system_nobody_sweeps_is_listed_with_the_rules_of_its_categories():
    # R44: the website has no adapter; the DPO sees its rules, which nothing here carries out.
    plan = make_plan(AS_OF, [], unsupported=[unswept("website", "no adapter", REGISTER)])
    assert [(r.system, r.category, r.rule, r.action, r.status, r.reason) for r in plan.rows] == [
        ("website", "cookies", "cookies_13m", "delete", SystemStatus.UNSUPPORTED, "no adapter"),
        ("website", "analytics", "analytics_25m", "delete", SystemStatus.UNSUPPORTED, "no adapter"),
        ("website", "connection_logs", "connection_logs_1y", "delete", SystemStatus.UNSUPPORTED, "no adapter"),
    ]


def test_the_plan_id_names_what_the_plan_would_do():
    one = make_plan(AS_OF, [due("crm", "a", "person")])
    assert one.plan_id == make_plan(AS_OF, [due("crm", "a", "person")]).plan_id
    assert one.plan_id != make_plan(AS_OF, [due("crm", "b", "person")]).plan_id
    assert one.plan_id != make_plan(date(2030, 1, 11), [due("crm", "a", "person")]).plan_id


def test_approval_first_plan_then_only_plans_over_the_limit():
    assert needs_approval("p1", 3, approved=[], limit=100)  # nothing runs before a first approval
    assert not needs_approval("p1", 3, approved=["p1"], limit=100)
    assert not needs_approval("p2", 100, approved=["p1"], limit=100)
    assert needs_approval("p3", 101, approved=["p1"], limit=100)
    assert not needs_approval("p3", 101, approved=["p1", "p3"], limit=100)


def test_task_ids_are_stable_per_sweep_system_and_person():
    assert task_id("p", "crm", "a") == task_id("p", "crm", "a")
    assert len({task_id("p", "crm", "a"), task_id("p", "crm", "b"), task_id("q", "crm", "a")}) == 3


# --- The sweep ----------------------------------------------------------------------------------


class Killed(Exception):
    pass


class MemorySink:
    """Records what a sweep writes; `die_at_flush` simulates a worker killed before the n-th flush returns."""

    def __init__(self, die_at_flush: int | None = None) -> None:
        self.tasks, self.audits, self.emails, self.flushes = [], [], [], 0
        self.die_at_flush = die_at_flush

    def task(self, task):
        self.tasks.append(task)

    def audit(self, record):
        self.audits.append(record)

    def notify(self, request):
        self.emails.append(request)

    def flush(self):
        self.flushes += 1
        if self.flushes == self.die_at_flush:
            raise Killed


def sweep_of(people: int, holds=()) -> Sweep:
    plan = make_plan(AS_OF, [due("crm", f"ref{n:03}", "person") for n in range(people)], holds)
    emails = {f"ref{n:03}": f"p{n}@example.test" for n in range(people)}
    seal = lambda ref, value, system, lease=None: Sealed(subject_ref=ref, nonce="n", ciphertext="c", audience=system)  # noqa: E731
    return Sweep(plan, emails, REGISTER, seal=seal, clock=lambda: NOW, batch_size=4)


def test_the_keys_of_tasks_unanswered_past_their_lease_go_and_are_recorded():
    # A system never answered the sweep's task for ref-a (its lease ran out at 07:00); ref-b's task is younger, and
    # ref-c is a case's key. `dsr retention run` (and the clock) lets ref-a's key go, recorded as a case's would be.
    vault, sink = MemoryKeyVault(), MemorySink()
    vault.key_for("ref-a", Lease("task-a", NOW + timedelta(hours=4)))
    vault.key_for("ref-b", Lease("task-b", NOW + timedelta(hours=8)))
    vault.key_for("ref-c")
    assert expire_keys(vault, NOW + timedelta(hours=5), lambda: sink) == 1
    assert vault.get("ref-a") is None and vault.get("ref-b") and vault.get("ref-c")
    assert [(a.kind, a.subject_ref) for a in sink.audits] == [("key_destroyed", "ref-a")]
    assert expire_keys(vault, NOW + timedelta(hours=5), lambda: pytest.fail("no sink for nothing")) == 0


class Purging:
    """A system that purges its own records of no one (in process, or over a webhook or the SDK)."""

    capabilities = SimpleNamespace(retention_scan=True)

    def __init__(self, name: str, purged: int | Exception) -> None:
        self.name, self.purged = name, purged

    def retention_scan(self, as_of, register, holds_of=None):
        raise NotImplementedError

    def purge_expired(self, as_of, register, holds_of=None) -> int:
        if isinstance(self.purged, Exception):
            raise self.purged
        return self.purged


def test_a_system_that_cannot_purge_now_is_audited_and_the_others_purge():
    # R44: the SDK system's consumer is down; the newsletter purges its fingerprints all the same, and the audit says
    # which system did not (the next run asks again: its records are still past their end).
    purges = [Purge(name, "suppression_entry", "suppression_3y", "delete", AS_OF, AS_OF, 2) for name in ("a", "b")]
    sweep = replace(sweep_of(0), plan=make_plan(AS_OF, [], purges=purges))
    sink = MemorySink()
    silent = Purging("a", SystemUnanswered("system 'a' did not answer the retention scan within 60 s"))
    assert purge_unkeyed(sweep, [silent, Purging("b", 2)], sink) == 2
    (failed,) = [a for a in sink.audits if a.kind == "retention_unkeyed_not_purged"]
    assert failed.detail["system"] == "a" and "SystemUnanswered" in failed.detail["error"]
    assert [a.detail["purged"] for a in sink.audits if a.kind == "retention_unkeyed_purged"] == [2]


def test_a_sweep_publishes_one_erase_per_item_in_batches_then_audits_and_reports(tmp_path):
    sweep, sink = sweep_of(10), MemorySink()
    assert run_sweep(sweep, sink, RetentionStore(tmp_path)) == 3
    assert [t.action for t in sink.tasks] == [TaskAction.ERASE] * 10
    assert {t.subject_request_id for t in sink.tasks} == {sweep_request_id(sweep.plan.plan_id)}
    assert [a.kind for a in sink.audits] == ["retention_batch_published"] * 3 + ["retention_sweep_published"]
    assert [e.message_type for e in sink.emails] == ["dpo_retention_report"]
    assert all("example.test" not in a.to_bytes().decode() for a in sink.audits + sink.emails)


def test_a_killed_sweep_resumes_after_its_last_recorded_batch_with_the_same_task_ids(tmp_path):
    store, sweep = RetentionStore(tmp_path), sweep_of(10)
    first = MemorySink(die_at_flush=2)  # killed while the second batch was on its way
    with pytest.raises(Killed):
        run_sweep(sweep, first, store)
    second = MemorySink()
    assert run_sweep(sweep, second, store) == 2  # batches 2 and 3: the first was recorded
    everyone = {task_id(sweep.plan.plan_id, "crm", f"ref{n:03}") for n in range(10)}
    assert {t.task_id for t in first.tasks} | {t.task_id for t in second.tasks} == everyone
    # Only the batch in flight is sent twice, with the same ids: the runtime answers those from its record.
    assert len(first.tasks) + len(second.tasks) == 10 + 4
    assert run_sweep(sweep, MemorySink(), store) == 0  # a finished sweep publishes nothing more


def test_the_report_names_systems_and_categories_in_words():
    plan = make_plan(AS_OF, [Due("crm", "a", "person", "crm_contact", "delete", date(2030, 1, 2))], unsupported=["x"])
    context = report_context(plan, REGISTER)
    assert context["rows"][0]["category"] == REGISTER.systems["crm"].categories["person"].label.model_dump()
    assert context["unsupported"] == ["x"] and context["people"] == 1


def test_the_report_names_each_system_to_sweep_by_hand_once_and_not_the_pipeline_s_own_records():
    # The workers purge the case records themselves (R51): the DPO has nothing to do by hand there.
    systems = [unswept(name, "no adapter", REGISTER) for name in ("website", "dsr")]
    context = report_context(make_plan(AS_OF, [], unsupported=systems), REGISTER)
    assert context["unsupported"] == [REGISTER.systems["website"].label.model_dump()]


def test_plans_carried_out_or_superseded_go_after_thirty_days_but_not_the_plan_of_a_sweep_cut_short(tmp_path):
    # Each plan lists everyone due by subject_ref: the folder keeps a month of them, not every day's forever.
    now, store = datetime.now(UTC), RetentionStore(tmp_path)
    old, cut_short, recent = (make_plan(AS_OF, [due("crm", ref, "person")]) for ref in ("a", "b", "c"))
    for plan, age in ((old, 31), (cut_short, 31), (recent, 29)):
        store.save_plan(plan)
        written = (now - timedelta(days=age)).timestamp()
        os.utime(tmp_path / "plans" / f"{plan.plan_id}.json", (written, written))
        if plan is cut_short:
            store.record_batch(AS_OF, plan.plan_id, 0, 2)  # killed after its first batch: `run` carries it on
    store.save_plan(make_plan(AS_OF, [due("crm", "d", "person")]))  # today's plan
    assert store.plan(old.plan_id) is None
    assert store.load_plan(cut_short.plan_id) == cut_short and store.load_plan(recent.plan_id) == recent
    assert len(list((tmp_path / "plans").glob("*.json"))) == 3


def test_a_plan_with_fingerprints_to_purge_shows_them_and_survives_its_file(tmp_path):
    purge = Purge("newsletter", "suppression_entry", "suppression_3y", "delete", date(2029, 1, 3), date(2030, 1, 9), 4)
    plan = make_plan(AS_OF, [due("crm", "a", "person")], purges=[purge])
    assert [(r.system, r.count, r.records) for r in plan.rows] == [("crm", 1, 1), ("newsletter", 0, 4)]
    assert plan.size == 1 and plan.plan_id != make_plan(AS_OF, [due("crm", "a", "person")]).plan_id
    store = RetentionStore(tmp_path)
    store.save_plan(plan)
    assert store.load_plan(plan.plan_id) == plan


def test_a_plan_survives_its_file_and_a_resumed_sweep_skips_people_already_gone(tmp_path):
    store, sweep = RetentionStore(tmp_path), sweep_of(10, holds=[Hold("ref001", hold(["person"]))])
    store.save_plan(sweep.plan)
    assert store.load_plan(sweep.plan.plan_id) == sweep.plan
    with pytest.raises(Killed):
        run_sweep(sweep, MemorySink(die_at_flush=2), store)
    assert store.unfinished(AS_OF) == sweep.plan.plan_id
    # The rescan on resuming no longer finds the people of the batch in flight: they were erased meanwhile.
    gone = {item.subject_ref for item in sweep.plan.items[4:8]}
    resumed = Sweep(
        store.load_plan(store.unfinished(AS_OF)),
        {ref: email for ref, email in sweep.emails.items() if ref not in gone},
        REGISTER,
        seal=sweep.seal,
        clock=sweep.clock,
        batch_size=4,
    )
    sink = MemorySink()
    run_sweep(resumed, sink, store)
    assert {t.subject_ref for t in sink.tasks} == {i.subject_ref for i in sweep.plan.items[8:]}
    assert store.unfinished(AS_OF) is None
