"""The retention sweep's state: plans, the DPO's approvals, each day's sweep and who was asked once. One contract for
the files of one worker and the PostgreSQL tables every worker shares (DSR_VAULT_DSN); then two workers with their
own data dirs on one PostgreSQL, as when the group's leadership moves to another machine."""

from __future__ import annotations

import threading
import time as clock_time
from datetime import UTC, date, datetime, time, timedelta

import pytest

from dsr.composition import asked_store, retention_store
from dsr.recontact import AskedStore
from dsr.register import load_register
from dsr.retention import RetentionStore, Sweep, run_sweep
from dsr.retention_cli import Shell, carry_out
from dsr.retention_store import PostgresAskedStore, PostgresRetentionStore
from dsr.settings import load_settings
from gdpr.deadlines import PARIS
from gdpr.recontact import Ask
from gdpr.sweep import Due, make_plan, task_id
from handlers.protocol import Subject
from handlers.reference import CrmAdapter, PostgresStore
from schemas.notifications import MessageType
from schemas.sealed import Sealed

pytestmark = pytest.mark.contract

AS_OF = date(2030, 1, 10)
NOW = datetime(2030, 1, 10, 3, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SECRET = "retention-store-test-secret-0123456789abcdef"
LONG_AGO = datetime(2020, 1, 6, 10, 0, tzinfo=UTC)
REGISTER = load_register(None)


class Killed(Exception):
    """The worker died: nothing after this point happened."""


class Sink:
    """What a sweep publishes; `die_at_flush`: the worker is killed on that flush, before the batch is recorded."""

    def __init__(self, die_at_flush: int = 0) -> None:
        self.tasks, self.emails, self.flushes, self.die_at_flush = [], [], 0, die_at_flush

    def task(self, task):
        self.tasks.append(task)

    def audit(self, record):
        pass

    def notify(self, request):
        self.emails.append(request)

    def flush(self):
        self.flushes += 1
        if self.flushes == self.die_at_flush:
            raise Killed

    def close(self):
        pass


class Clock:
    def __init__(self) -> None:
        self.now = clock_time.time()

    def __call__(self) -> float:
        return self.now


def plan_of(*refs: str, as_of: date = AS_OF):
    return make_plan(as_of, [Due("crm", ref, "person", "crm_contact", "delete", as_of - DAY) for ref in refs])


def sweep_of(plan) -> Sweep:
    seal = lambda ref, value, system, lease=None: Sealed(subject_ref=ref, nonce="n", ciphertext="c", audience=system)  # noqa: E731
    emails = {item.subject_ref: f"{item.subject_ref}@example.test" for item in plan.items}
    return Sweep(plan, emails, REGISTER, seal=seal, clock=lambda: NOW, batch_size=2)


class RetentionStateContract:
    """Subclasses say where the state lives (`stores`); every test below holds for both."""

    @pytest.fixture
    def clock(self) -> Clock:
        return Clock()

    @pytest.fixture
    def store(self, tmp_path, clock):
        return self.stores(tmp_path, clock)[0]

    @pytest.fixture
    def asked(self, tmp_path, clock):
        return self.stores(tmp_path, clock)[1]

    def stores(self, tmp_path, clock) -> tuple:
        raise NotImplementedError

    def test_a_plan_saved_is_read_back_whole_and_an_unknown_one_is_none(self, store):
        plan = plan_of("ref-a", "ref-b")
        store.save_plan(plan)
        assert store.load_plan(plan.plan_id) == plan
        assert {k: store.plan(plan.plan_id)[k] for k in ("size", "as_of")} == {"size": 2, "as_of": AS_OF.isoformat()}
        assert store.plan("no-such-plan") is None and store.load_plan("no-such-plan") is None

    def test_approvals_name_who_approved_and_when(self, store):
        assert store.approvals() == {}
        store.approve("plan-1", "dpo", NOW)
        store.approve("plan-2", "alice", NOW + DAY)
        assert store.approvals() == {
            "plan-1": {"by": "dpo", "at": NOW.isoformat()},
            "plan-2": {"by": "alice", "at": (NOW + DAY).isoformat()},
        }

    def test_a_killed_sweep_resumes_after_its_last_recorded_batch_then_is_finished(self, store):
        # Five people, two a batch: killed on the second flush, the first batch alone is recorded.
        plan = plan_of(*(f"ref-{n}" for n in range(5)))
        store.save_plan(plan)
        with pytest.raises(Killed):
            run_sweep(sweep_of(plan), Sink(die_at_flush=2), store)
        assert store.unfinished(AS_OF) == plan.plan_id and store.batches_done(AS_OF, plan.plan_id) == 1
        assert store.unfinished(AS_OF + DAY) is None and store.batches_done(AS_OF, "another-plan") == 0
        again = Sink()
        assert run_sweep(sweep_of(plan), again, store) == 2
        assert [t.subject_ref for t in again.tasks] == [i.subject_ref for i in plan.items[2:]]
        assert store.unfinished(AS_OF) is None and store.batches_done(AS_OF, plan.plan_id) == 3
        assert run_sweep(sweep_of(plan), Sink(), store) == 0  # finished: nothing more to publish

    def test_the_first_plan_claimed_is_the_day_s_sweep(self, store):
        first, second = plan_of("ref-a"), plan_of("ref-b")
        assert store.claim(AS_OF, first.plan_id) == first.plan_id
        assert store.unfinished(AS_OF) == first.plan_id and store.batches_done(AS_OF, first.plan_id) == 0
        assert store.claim(AS_OF, second.plan_id) == first.plan_id  # a second leader carries the first one on
        store.record_batch(AS_OF, first.plan_id, 0, 1)
        store.finish(AS_OF, first.plan_id, 1)
        assert store.claim(AS_OF, second.plan_id) == first.plan_id  # done: the day's sweep is not started again
        assert store.claim(AS_OF + DAY, second.plan_id) == second.plan_id

    def test_leaders_claiming_the_same_day_at_once_all_get_one_plan(self, tmp_path, clock):
        # Each thread is a worker with its own connection (or its own look at the files), claiming with its own plan.
        workers = [self.stores(tmp_path, clock)[0] for _ in range(6)]
        won: list[str] = []
        start = threading.Barrier(len(workers))

        def claim(store, ref):
            start.wait()
            won.append(store.claim(AS_OF, plan_of(ref).plan_id))

        threads = [threading.Thread(target=claim, args=(s, f"ref-{n}")) for n, s in enumerate(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(won) == len(workers) and len(set(won)) == 1

    def test_plans_not_saved_again_for_thirty_days_go_but_not_the_plan_of_a_sweep_cut_short(self, store, clock):
        old, cut_short, recent = plan_of("ref-a"), plan_of("ref-b", as_of=AS_OF + DAY), plan_of("ref-c")
        store.save_plan(old)
        store.save_plan(cut_short)
        store.record_batch(AS_OF + DAY, cut_short.plan_id, 0, 2)  # killed after its first batch
        clock.now += timedelta(days=29).total_seconds()
        store.save_plan(recent)
        clock.now += timedelta(days=2).total_seconds()
        store.save_plan(plan_of("ref-d"))  # today's plan: saving prunes
        assert store.plan(old.plan_id) is None
        assert store.load_plan(cut_short.plan_id) == cut_short and store.load_plan(recent.plan_id) == recent
        assert store.prune_plans() == []

    def test_who_was_asked_is_kept_until_the_end_asked_about(self, asked):
        today = date(2027, 3, 8)
        assert asked.asked() == {}
        asked.record([Ask("ref-a", ("crm",), today + 10 * DAY), Ask("ref-b", ("crm",), today + DAY)], today)
        assert asked.asked() == {"ref-a": today + 10 * DAY, "ref-b": today + DAY}
        # Two days later: b's end is past (swept), a asked again about a later end (a yes restarted the clock).
        later = today + 2 * DAY
        asked.record([Ask("ref-a", ("crm",), later + 1000 * DAY)], later)
        assert asked.asked() == {"ref-a": later + 1000 * DAY}
        asked.record([], later)
        assert asked.asked() == {"ref-a": later + 1000 * DAY}


class TestOnFiles(RetentionStateContract):
    def stores(self, tmp_path, clock) -> tuple:
        return RetentionStore(tmp_path / "retention", clock), AskedStore(tmp_path / "retention")


class TestOnPostgres(RetentionStateContract):
    dsn = ""

    @pytest.fixture(autouse=True)
    def _database(self, postgres_dsn: str) -> None:
        self.dsn = postgres_dsn

    def stores(self, tmp_path, clock) -> tuple:
        return PostgresRetentionStore(self.dsn, clock=clock), PostgresAskedStore(self.dsn)


# --- Two workers, each with its own data dir, on one PostgreSQL -----------------------------------------------


@pytest.fixture
def workers(tmp_path, postgres_dsn):
    """The settings of two workers on two machines: their own DSR_DATA_DIR, one DSR_VAULT_DSN, the CRM on it."""
    shared = {"vault_dsn": postgres_dsn, "postgres_dsn": postgres_dsn, "secret_key": SECRET, "systems": "crm"}
    shared |= {"builtin_adapters": "crm", "retention_batch_size": 2, "sample_data": False}
    return [load_settings(data_dir=tmp_path / name, **shared) for name in ("worker-a", "worker-b")]


def shells(workers) -> list[Shell]:
    return [Shell.load(settings, SECRET.encode()) for settings in workers]


def on_file(dsn: str, *emails: str, since: datetime = LONG_AGO) -> None:
    crm = CrmAdapter(PostgresStore(dsn, "crm"), clock=lambda: since)
    for email in emails:
        crm.record_submission(f"q-{email}", "dsr.form.quote_requested", Subject(email=email), {"service": "x"})
    crm.close()


def people(count: int) -> list[str]:
    return [f"p{n}@example.test" for n in range(count)]


def test_the_workers_state_is_shared_where_the_vault_is_and_alone_under_the_data_dir(tmp_path, postgres_dsn):
    alone = load_settings(data_dir=tmp_path)
    assert isinstance(retention_store(alone), RetentionStore) and isinstance(asked_store(alone), AskedStore)
    assert (tmp_path / "retention" / "sweeps").is_dir()
    shared = load_settings(data_dir=tmp_path, vault_dsn=postgres_dsn)
    assert isinstance(retention_store(shared), PostgresRetentionStore)
    assert isinstance(asked_store(shared), PostgresAskedStore)


def test_an_approval_made_through_one_worker_is_seen_by_the_other(workers):
    on_file(workers[0].vault_dsn, *people(3))
    a, b = shells(workers)
    # The leader is worker b: the first plan waits for the DPO, who approves it through worker a's data.
    waiting = carry_out(b, AS_OF, (), Sink)
    assert waiting.published is None
    a.store.approve(waiting.plan.plan_id, "dpo", NOW)
    sink = Sink()
    outcome = carry_out(b, AS_OF, (), lambda: sink)
    assert outcome.published == 2 and len(sink.tasks) == 3
    assert a.store.unfinished(AS_OF) is None and a.store.batches_done(AS_OF, outcome.plan.plan_id) == 2


def test_a_sweep_cut_short_on_one_worker_is_resumed_by_the_other_from_the_next_batch(workers):
    on_file(workers[0].vault_dsn, *people(5))
    a, b = shells(workers)
    a.store.approve("an-earlier-plan", "dpo", NOW)  # the clock sweeps alone within the limit
    # Worker a leads, and dies on the second flush: its first batch (two people) alone is recorded.
    with pytest.raises(Killed):
        carry_out(a, AS_OF, (), lambda: Sink(die_at_flush=2))
    # Leadership moves to worker b: it carries a's plan on from the second batch, and publishes no new plan.
    sink = Sink()
    outcome = carry_out(b, AS_OF, (), lambda: sink)
    plan = outcome.plan
    assert outcome.resumed and outcome.published == 2 and a.store.unfinished(AS_OF) is None
    assert [t.task_id for t in sink.tasks] == [task_id(plan.plan_id, i.system, i.subject_ref) for i in plan.items[2:]]


def test_a_person_asked_through_one_worker_is_not_asked_again_through_the_other(workers):
    # A prospect whose three years end in ten days; the re-contact asks 30 days ahead (CNIL-COM).
    today = datetime.now(PARIS).date()
    since = datetime.combine(today.replace(year=today.year - 3) + 10 * DAY, time(10), tzinfo=PARIS)
    on_file(workers[0].vault_dsn, "lea@example.test", since=since)
    a, b = shells([w.model_copy(update={"retention_recontact_days": 30}) for w in workers])
    first, second = Sink(), Sink()
    assert carry_out(a, today, (), lambda: first).asked == 1
    assert carry_out(b, today, (), lambda: second).asked == 0
    assert [e.message_type for e in first.emails].count(MessageType.RETENTION_RECONTACT) == 1
    assert MessageType.RETENTION_RECONTACT not in [e.message_type for e in second.emails]


class LooksThenLoses:
    """Worker b's store, as a rebalance makes it: right after b found no sweep under way for the day, the leader it
    overlaps with (worker a) claims the day with its own plan and publishes a first batch."""

    def __init__(self, store, other_leader) -> None:
        self._store, self._other_leader = store, other_leader

    def __getattr__(self, name):
        return getattr(self._store, name)

    def unfinished(self, as_of: date) -> str | None:
        seen = self._store.unfinished(as_of)
        self._other_leader(as_of)
        return seen


def test_two_leaders_overlapping_carry_one_plan_on_not_each_their_own_from_scratch(workers):
    dsn = workers[0].vault_dsn
    on_file(dsn, *people(4))
    a, b = shells(workers)
    a.store.approve("an-earlier-plan", "dpo", NOW)
    # Worker a scanned first; a fifth person came due before worker b's scan: their plans differ.
    plan_a = a.plan(AS_OF, (), None)[0]
    a.store.save_plan(plan_a)
    on_file(dsn, "late@example.test")

    def a_claims(as_of: date) -> None:
        assert a.store.claim(as_of, plan_a.plan_id) == plan_a.plan_id
        a.store.record_batch(as_of, plan_a.plan_id, 0, 2)

    b.store = LooksThenLoses(b.store, a_claims)
    sink = Sink()
    outcome = carry_out(b, AS_OF, (), lambda: sink)
    # Worker b carries a's plan on from its second batch; it never publishes a plan of its own.
    assert outcome.plan.plan_id == plan_a.plan_id and outcome.published == 1
    expected = [task_id(plan_a.plan_id, i.system, i.subject_ref) for i in plan_a.items[2:]]
    assert [t.task_id for t in sink.tasks] == expected
